import type { Logger } from "../../../../lib/logging/create-logger.ts";
import { backgroundCall } from "./call-context.ts";
import type { DbRunner } from "./db-runner.ts";
import { deleteExpiredIdempotencyKeys } from "./idempotency-sql.ts";

export interface IdempotencyReaperOptions {
  /** Keys older than this are deleted. @default 86 400 */
  ttlSeconds?: number;
  /** @default 600 000 (10 minutes) */
  intervalMs?: number;
  /** Keys deleted per statement. @default 1000 */
  batch?: number;
}

export interface IdempotencyReaper {
  /** Deletes expired keys now, in batches; resolves with how many. */
  runOnce(): Promise<number>;
  stop(): void;
}

/**
 * Deletes expired idempotency keys in the background, off the request path. Expired keys are also ignored
 * when claimed, so the reaper only keeps the table small; a failed run is retried at the next interval.
 */
export function startIdempotencyReaper(db: DbRunner, logger: Logger, options: IdempotencyReaperOptions = {}): IdempotencyReaper {
  const ttlSeconds = options.ttlSeconds ?? 86_400;
  const batch = options.batch ?? 1000;
  const stop = new AbortController();
  let running: Promise<number> | undefined;

  async function reap(): Promise<number> {
    let total = 0;
    for (;;) {
      const call = backgroundCall(stop.signal, "idempotency-reaper");
      const deleted = await db.write(call, "idempotency.expire", (query) => deleteExpiredIdempotencyKeys(query, ttlSeconds, batch));
      total += deleted;
      if (deleted < batch || stop.signal.aborted) return total;
    }
  }

  function runOnce(): Promise<number> {
    running ??= reap().finally(() => {
      running = undefined;
    });
    return running;
  }

  const timer = setInterval(() => {
    runOnce().then(
      (deleted) => {
        if (deleted > 0) logger.info({ deleted }, "expired idempotency keys deleted");
      },
      (err: unknown) => logger.debug({ err: { message: (err as Error)?.message } }, "idempotency key cleanup failed; retrying later"),
    );
  }, options.intervalMs ?? 600_000);
  timer.unref();

  return {
    runOnce,
    stop() {
      clearInterval(timer);
      stop.abort();
    },
  };
}
