import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import { takeToken, type Bucket, type RateDecision } from "./token-bucket.ts";

const script = readFileSync(new URL("./lua/token-bucket-1.lua", import.meta.url), "utf8");

export interface RateLimiterOptions {
  ratePerSecond: number;
  burst: number;
  /** Shared buckets; without it every decision is local. */
  redis?: Redis | undefined;
  keyPrefix: string;
  logger: Logger;
  /** @default Date.now */
  now?: () => number;
  /** Local buckets kept at most; the oldest go first. @default 100000 */
  maxLocalBuckets?: number;
}

export interface RateLimiter {
  readonly ratePerSecond: number;
  readonly burst: number;
  /** Takes one token for `key` (such as "sub:alice" or "ip:127.0.0.1"). */
  take(key: string, signal?: AbortSignal): Promise<RateDecision>;
}

interface TokenBucketCommand {
  tokenBucket(key: string, rate: number, burst: number): Promise<[number, number, number, number]>;
}

/**
 * A distributed token bucket per caller in Valkey, one Lua script per decision (lua/token-bucket-1.lua), so
 * a limit holds across every gateway sharing the Valkey. When Valkey fails or is slow, decisions fall back to
 * a local bucket per key (each gateway then limits on its own); that is logged once, and so is the return.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { logger, ratePerSecond, burst } = options;
  const now = options.now ?? Date.now;
  const maxLocal = options.maxLocalBuckets ?? 100_000;
  const local = new Map<string, Bucket>();
  const redis = options.redis;
  if (redis) redis.defineCommand("tokenBucket", { numberOfKeys: 1, lua: script });
  let degraded = false;

  function takeLocal(key: string): RateDecision {
    const { bucket, decision } = takeToken(local.get(key), now(), ratePerSecond, burst);
    local.delete(key);
    local.set(key, bucket);
    if (local.size > maxLocal) local.delete(local.keys().next().value!);
    return decision;
  }

  return {
    ratePerSecond,
    burst,
    async take(key) {
      if (!redis) return takeLocal(key);
      try {
        const [allowed, remaining, retryAfterMs, resetMs] = await (redis as unknown as TokenBucketCommand).tokenBucket(
          options.keyPrefix + key,
          ratePerSecond,
          burst,
        );
        if (degraded) {
          degraded = false;
          logger.info("Valkey reachable again: rate limits are shared across gateways again");
        }
        return { allowed: allowed === 1, remaining, retryAfterMs, resetMs };
      } catch (err) {
        if (!degraded) {
          degraded = true;
          logger.warn({ err: { message: (err as Error).message } }, "Valkey unavailable: rate limits fall back to this gateway's own buckets");
        }
        return takeLocal(key);
      }
    },
  };
}
