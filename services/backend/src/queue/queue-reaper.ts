import type { Logger } from "../../../../lib/logging/create-logger.ts";
import type { QueueEngine } from "./queue-engine.ts";

export interface QueueReaper {
  start(): void;
  /** Stops the timer and waits for a pass under way. */
  stop(): Promise<void>;
  /** One pass over every queue (tests). */
  runOnce(): Promise<void>;
}

/**
 * Every `intervalMs`, returns expired leases to their queues and makes due delayed messages ready, for every
 * queue of the registry (no SCAN). Lease calls do the same for their queue, so this only matters for queues
 * that nobody leases from right now: their stats stay true and waiting consumers are woken. Every backend runs
 * one; the scripts are atomic, so they do not conflict.
 */
export function createQueueReaper(engine: QueueEngine, options: { intervalMs?: number; logger: Logger }): QueueReaper {
  const intervalMs = options.intervalMs ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let failing = false;

  async function runOnce(): Promise<void> {
    try {
      for (const queue of await engine.listQueues()) await engine.reap(queue);
      if (failing) options.logger.info("queue reaper recovered");
      failing = false;
    } catch (err) {
      if (!failing) options.logger.warn({ err }, "queue reaper pass failed; retrying");
      failing = true;
    }
  }

  function schedule(): void {
    timer = setTimeout(() => {
      running = runOnce().finally(() => {
        running = undefined;
        if (timer !== undefined) schedule();
      });
    }, intervalMs);
    timer.unref();
  }

  return {
    start() {
      if (timer === undefined) schedule();
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
    runOnce,
  };
}
