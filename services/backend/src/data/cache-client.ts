import { readFileSync } from "node:fs";
import {
  CircuitState,
  ConsecutiveBreaker,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  timeout,
  type CircuitBreakerPolicy,
} from "cockatiel";
import type { Redis } from "ioredis";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import type { DependencyFaultGate } from "../faults/dependency-fault-gate.ts";
import type { DataMetrics } from "./data-metrics.ts";

export interface CacheClientOptions {
  /** Every Valkey call gives up after this long. @default 100 */
  timeoutMs?: number;
  /** Consecutive failures that open the breaker. @default 5 */
  breakerThreshold?: number;
  /** How long the open breaker skips Valkey before one trial call. @default 1000 */
  breakerHalfOpenMs?: number;
}

export interface CacheClientDeps {
  redis: Redis;
  gate: DependencyFaultGate;
  logger: Logger;
  metrics: Pick<DataMetrics, "cacheErrors" | "circuitOpen">;
}

/** Who is asking: the signal bounds the wait, the procedure selects method-filtered cache faults. */
export interface CacheCaller {
  readonly signal: AbortSignal;
  readonly procedure: string | undefined;
}

export interface CacheClient {
  /** GET; null when absent. */
  get(caller: CacheCaller, key: string): Promise<Buffer | null>;
  /** SET with a time to live. */
  set(caller: CacheCaller, key: string, value: Buffer, ttlMs: number): Promise<void>;
  /** fill-entry-1.lua: false when a newer version is cached. */
  fillEntry(caller: CacheCaller, key: string, entry: Buffer, version: bigint, ttlMs: number): Promise<boolean>;
  /** invalidate-entry-2.lua. */
  invalidateEntry(caller: CacheCaller, key: string, generationKey: string, tombstone: Buffer, version: bigint, ttlMs: number): Promise<void>;
  /** INCR of a generation key. */
  bumpGeneration(caller: CacheCaller, generationKey: string): Promise<void>;
  /** True while the breaker keeps calls away from Valkey. */
  readonly open: boolean;
}

interface ScriptCommands {
  meshFillEntry(key: string, entry: Buffer, version: string, ttlMs: number): Promise<number>;
  meshInvalidateEntry(key: string, generationKey: string, tombstone: Buffer, version: string, ttlMs: number): Promise<number>;
}

/** The caller went away: not Valkey's fault, so it must not count towards the breaker. */
class CallerGoneError extends Error {
  override readonly name = "CallerGoneError";
}

const script = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), "utf8");

/**
 * The command's answer, or TaskCancelledError once `signal` aborts (the timeout or the caller) and the answer
 * is still missing one event-loop turn later. The extra turn matters on a busy process: the timer and Valkey's
 * reply may be due together, and timers run before I/O, so without it a late event loop would read as a slow
 * Valkey and open the breaker, sending every read to PostgreSQL just when the process has no time to spare.
 */
function answered<T>(command: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const giveUp = () =>
      setImmediate(() => {
        if (!settled) reject(new TaskCancelledError(`Valkey did not answer in time`));
      });
    if (signal.aborted) giveUp();
    else signal.addEventListener("abort", giveUp, { once: true });
    command.then(
      (value) => {
        settled = true;
        signal.removeEventListener("abort", giveUp);
        resolve(value);
      },
      (err: unknown) => {
        settled = true;
        signal.removeEventListener("abort", giveUp);
        reject(err);
      },
    );
  });
}

/**
 * Valkey access where every command runs inside a cockatiel timeout and a circuit breaker, raced against the
 * caller's signal, after the cache fault gate. A failing, slow or faulted Valkey makes the call
 * throw quickly (the read-through cache then goes to PostgreSQL), and the breaker keeps calls away from it
 * until a trial call succeeds again.
 */
export function createCacheClient(deps: CacheClientDeps, options: CacheClientOptions = {}): CacheClient {
  const { redis, gate, logger, metrics } = deps;
  if (!("meshFillEntry" in redis)) {
    redis.defineCommand("meshFillEntry", { numberOfKeys: 1, lua: script("fill-entry-1.lua") });
    redis.defineCommand("meshInvalidateEntry", { numberOfKeys: 2, lua: script("invalidate-entry-2.lua") });
  }
  const commands = redis as unknown as Redis & ScriptCommands;
  const timeoutMs = options.timeoutMs ?? 100;
  // Cooperative: answered() decides what a timeout means. No abort on return: nothing listens once the
  // command has answered, and each abort would build an error.
  const deadline = timeout(timeoutMs, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });
  const breaker: CircuitBreakerPolicy = circuitBreaker(
    handleWhen((err) => !(err instanceof CallerGoneError)),
    { halfOpenAfter: options.breakerHalfOpenMs ?? 1000, breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 5) },
  );
  breaker.onBreak(() => {
    metrics.circuitOpen.set({ dependency: "cache" }, 1);
    logger.warn("Valkey circuit breaker opened: reads go to PostgreSQL");
  });
  breaker.onReset(() => {
    metrics.circuitOpen.set({ dependency: "cache" }, 0);
    logger.info("Valkey circuit breaker closed: the cache is used again");
  });

  async function call<T>(caller: CacheCaller, operation: string, command: () => Promise<T>): Promise<T> {
    try {
      return await breaker.execute(async () => {
        try {
          return await deadline.execute(async ({ signal }) => {
            await gate.pass("cache", caller.procedure, signal)?.catch((err: unknown) => {
              throw signal.aborted ? new TaskCancelledError("Valkey did not answer in time (fault latency)") : err;
            });
            return answered(command(), signal);
          }, caller.signal);
        } catch (err) {
          if (caller.signal.aborted) throw new CallerGoneError("the caller went away", { cause: err });
          throw err;
        }
      });
    } catch (err) {
      metrics.cacheErrors.inc({ operation });
      if (!(err instanceof CallerGoneError)) {
        logger.debug({ operation, err: { name: (err as Error)?.name, message: (err as Error)?.message } }, "Valkey call failed");
      }
      throw err;
    }
  }

  return {
    get: (caller, key) => call(caller, "get", () => commands.getBuffer(key)),
    async set(caller, key, value, ttlMs) {
      await call(caller, "set", () => commands.set(key, value, "PX", ttlMs));
    },
    async fillEntry(caller, key, entry, version, ttlMs) {
      return (await call(caller, "fill", () => commands.meshFillEntry(key, entry, version.toString(), ttlMs))) === 1;
    },
    async invalidateEntry(caller, key, generationKey, tombstone, version, ttlMs) {
      await call(caller, "invalidate", () => commands.meshInvalidateEntry(key, generationKey, tombstone, version.toString(), ttlMs));
    },
    async bumpGeneration(caller, generationKey) {
      await call(caller, "bump_generation", () => commands.incr(generationKey));
    },
    get open() {
      return breaker.state === CircuitState.Open || breaker.state === CircuitState.Isolated;
    },
  };
}
