import { Code, ConnectError } from "@connectrpc/connect";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } from "@opentelemetry/api";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import type { LeasedQueueMessage, QueueEngine, StoredMessage } from "./queue-engine.ts";

/** Processes one message; must honour `signal` (the per-message timeout, or shutdown). Throw to fail it. */
export type MessageHandler = (message: StoredMessage, signal: AbortSignal) => Promise<void>;

/** Thrown by a handler for a message that no retry can fix: it is dead-lettered at once. */
export class PermanentError extends Error {
  override readonly name = "PermanentError";
}

export interface WorkerSubscription {
  readonly queue: string;
  /** Handlers by message type. */
  readonly handlers: Readonly<Record<string, MessageHandler>>;
  /** For the types without a handler of their own; without it such messages are dead-lettered. */
  readonly fallback?: MessageHandler;
}

export interface WorkerRuntimeOptions {
  logger: Logger;
  /** Messages processed at once over all subscriptions. @default 16 */
  concurrency?: number;
  /** Per-message timeout; the handler's signal aborts then and the message is nacked. @default 30000 */
  timeoutMs?: number;
  /** Long-poll of each lease call. @default 5000 */
  pollMs?: number;
}

export interface WorkerRuntime {
  start(): void;
  /**
   * Stops leasing, lets in-flight messages finish for up to `graceMs`, then aborts the rest and gives their
   * leases back (without using an attempt) so that another backend takes them at once.
   */
  stop(graceMs: number): Promise<{ finished: number; released: number }>;
  readonly inFlight: number;
}

interface Running {
  readonly leased: LeasedQueueMessage;
  readonly controller: AbortController;
  released: boolean;
}

const maxErrorLength = 4096;
/** Lease margin over the timeout, so that a lease does not expire while a timed-out message is being nacked. */
const leaseMarginMs = 15_000;

function describeError(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.slice(0, maxErrorLength);
}

/** Consumes registered message types from queues, through the engine: ack on success, nack (retry or dead-letter) on failure. */
export function createWorkerRuntime(engine: QueueEngine, subscriptions: readonly WorkerSubscription[], options: WorkerRuntimeOptions): WorkerRuntime {
  const { logger } = options;
  const concurrency = options.concurrency ?? 16;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pollMs = options.pollMs ?? 5000;
  const tracer = trace.getTracer("connect-mesh");
  const stopLeasing = new AbortController();
  const running = new Set<Running>();
  /** Slots taken by running messages and by lease calls under way. */
  let busy = 0;
  let slotWaiters: Array<() => void> = [];
  let loops: Promise<void>[] = [];
  let finished = 0;
  const pendingAcks = new Map<string, string[]>();
  let ackFlush: Promise<void> | undefined;

  function freeSlots(n: number): void {
    busy -= n;
    const waiters = slotWaiters;
    slotWaiters = [];
    for (const wake of waiters) wake();
  }

  function untilSlot(): Promise<void> {
    if (busy < concurrency || stopLeasing.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => slotWaiters.push(resolve));
  }

  async function flushAcks(): Promise<void> {
    const batches = [...pendingAcks];
    pendingAcks.clear();
    ackFlush = undefined;
    for (const [queue, tokens] of batches) {
      try {
        await engine.ack(queue, tokens);
      } catch (err) {
        if (!(err instanceof ConnectError && err.code === Code.FailedPrecondition)) {
          logger.warn({ err, queue, count: tokens.length }, "ack failed; the messages will be delivered again");
          continue;
        }
        // One lease ended under us (a handler ran past its lease): ack the others one by one.
        for (const token of tokens) {
          await engine.ack(queue, [token]).catch((e: unknown) => logger.warn({ err: e, queue }, "ack of an ended lease failed; the message will be delivered again"));
        }
      }
    }
  }

  function ack(queue: string, token: string): void {
    const list = pendingAcks.get(queue);
    if (list === undefined) pendingAcks.set(queue, [token]);
    else list.push(token);
    ackFlush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(flushAcks);
  }

  function handlerFor(sub: WorkerSubscription, type: string): MessageHandler | undefined {
    return Object.hasOwn(sub.handlers, type) ? sub.handlers[type] : sub.fallback;
  }

  async function processMessage(sub: WorkerSubscription, leased: LeasedQueueMessage): Promise<void> {
    const { message, token } = leased;
    const entry: Running = { leased, controller: new AbortController(), released: false };
    running.add(entry);
    const timer = setTimeout(() => entry.controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError")), timeoutMs);
    // The consumer starts its own trace and links to the producer's span (OpenTelemetry's messaging convention):
    // one producer can fan out to many deliveries, retries included, each with its own timeline.
    const producer = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, message.traceContext));
    const parent = ROOT_CONTEXT;
    const span = tracer.startSpan(
      `process ${sub.queue}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: { "messaging.message.id": message.id, "messaging.destination.name": sub.queue, "messaging.system": "connect-mesh" },
        links: producer === undefined ? [] : [{ context: producer }],
      },
      parent,
    );
    try {
      const handler = handlerFor(sub, message.type);
      if (handler === undefined) throw new PermanentError(`no handler for message type ${JSON.stringify(message.type)}`);
      const aborted = new Promise<never>((_, reject) => {
        entry.controller.signal.addEventListener("abort", () => reject(entry.controller.signal.reason), { once: true });
      });
      aborted.catch(() => {});
      await Promise.race([context.with(trace.setSpan(parent, span), () => handler(message, entry.controller.signal)), aborted]);
      if (entry.released) return;
      ack(sub.queue, token);
      finished++;
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(err) });
      if (entry.released) return;
      await engine
        .nack(sub.queue, [token], { error: describeError(err), deadLetter: err instanceof PermanentError })
        .catch((e: unknown) => logger.warn({ err: e, queue: sub.queue, id: message.id }, "nack failed; the message will be delivered again"));
      finished++;
    } finally {
      clearTimeout(timer);
      span.end();
      running.delete(entry);
      freeSlots(1);
    }
  }

  async function consumeLoop(sub: WorkerSubscription): Promise<void> {
    let failures = 0;
    while (!stopLeasing.signal.aborted) {
      await untilSlot();
      if (stopLeasing.signal.aborted) break;
      const want = Math.min(concurrency - busy, 100);
      if (want <= 0) continue; // another subscription took the free slots meanwhile
      busy += want;
      let leased: LeasedQueueMessage[] = [];
      try {
        leased = await engine.lease(sub.queue, { max: want, visibilityMs: timeoutMs + leaseMarginMs, waitMs: pollMs, signal: stopLeasing.signal });
        failures = 0;
      } catch (err) {
        if (failures === 0) logger.warn({ err, queue: sub.queue }, "worker lease failed; retrying");
        failures++;
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** failures, 5000)));
      } finally {
        freeSlots(want - leased.length);
      }
      for (const m of leased) void processMessage(sub, m);
    }
  }

  return {
    get inFlight() {
      return running.size;
    },
    start() {
      if (loops.length === 0) loops = subscriptions.map((sub) => consumeLoop(sub));
    },
    async stop(graceMs) {
      stopLeasing.abort();
      freeSlots(0);
      await Promise.all(loops);
      const deadline = Date.now() + graceMs;
      while (running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))));
      const left = [...running];
      const byQueue = new Map<string, string[]>();
      for (const entry of left) {
        entry.released = true;
        entry.controller.abort(new DOMException("the worker is shutting down", "AbortError"));
        const list = byQueue.get(entry.leased.message.queue) ?? [];
        list.push(entry.leased.token);
        byQueue.set(entry.leased.message.queue, list);
      }
      let released = 0;
      for (const [queue, tokens] of byQueue) {
        released += await engine.release(queue, tokens).catch((err: unknown) => {
          logger.warn({ err, queue }, "could not give leases back; they return when they expire");
          return 0;
        });
      }
      await ackFlush;
      return { finished, released };
    },
  };
}
