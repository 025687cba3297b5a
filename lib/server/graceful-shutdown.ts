import { pino } from "pino";
import type { Logger } from "../logging/create-logger.ts";

/** What flushed() uses of pino's destination (sonic-boom); `_writing` is its flag for a write in flight. */
interface Destination {
  flushSync?: () => void;
  _writing?: boolean;
  once?: (event: "drain", listener: () => void) => unknown;
}

/**
 * Resolves once pino has written out what it buffered. Its destination is asynchronous, and an asynchronous
 * flush can call back before the last line is out, so the stream is flushed synchronously where it can be.
 * A synchronous flush skips the chunk an asynchronous write has in flight, though (a process that exits then
 * loses it, often its last line), so that write is awaited first: the stream says "drain" once all is out.
 */
export async function flushed(logger: Logger): Promise<void> {
  const stream = (logger as unknown as Record<symbol, Destination | undefined>)[pino.symbols.streamSym];
  if (stream?._writing === true && stream.once !== undefined) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      stream.once!("drain", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  try {
    if (stream?.flushSync) {
      stream.flushSync();
      return;
    }
  } catch {
    // Not ready for a synchronous write yet: fall back to the asynchronous flush.
  }
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1000);
    logger.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface ShutdownStep {
  /** For the log line. */
  name: string;
  run(): Promise<unknown> | unknown;
}

export interface ShutdownOptions {
  logger: Logger;
  /** Run in order on the first signal; a failing step is logged and the next one still runs. */
  steps: readonly ShutdownStep[];
  /** @default ["SIGTERM", "SIGINT"] */
  signals?: readonly NodeJS.Signals[];
  /** The process to listen on and exit. @default globalThis.process */
  target?: Pick<NodeJS.Process, "once" | "exit">;
}

export interface Shutdown {
  /** Runs the steps once (later calls get the same promise) and then exits with code 0. */
  trigger(reason: string): Promise<void>;
}

/**
 * Graceful shutdown on SIGTERM/SIGINT: the steps report NOT_SERVING, stop accepting, drain in-flight calls
 * and close pools, in the order the caller gives. A second signal exits at once with code 1.
 */
export function installShutdown(options: ShutdownOptions): Shutdown {
  const { logger } = options;
  const target = options.target ?? process;
  let running: Promise<void> | undefined;

  async function runSteps(reason: string): Promise<void> {
    logger.info({ reason }, "shutting down");
    for (const step of options.steps) {
      try {
        await step.run();
        logger.debug({ step: step.name }, "shutdown step done");
      } catch (err) {
        logger.error({ err, step: step.name }, "shutdown step failed");
      }
    }
    logger.info("stopped");
    await flushed(logger);
  }

  const shutdown: Shutdown = {
    trigger(reason) {
      running ??= runSteps(reason).then(() => {
        target.exit(0);
      });
      return running;
    },
  };
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const forceExit = (signal: NodeJS.Signals) => () => {
    logger.warn({ signal }, "second signal: exiting now");
    void flushed(logger).then(() => target.exit(1));
  };
  for (const signal of signals) {
    target.once(signal, () => {
      if (running) return;
      // From now on any listed signal (not only the one that came first) ends the drain at once.
      for (const other of signals) target.once(other, forceExit(other));
      void shutdown.trigger(signal);
    });
  }
  return shutdown;
}
