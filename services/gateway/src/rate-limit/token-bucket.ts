/** A token bucket: fractional tokens as of `atMs`. */
export interface Bucket {
  readonly tokens: number;
  readonly atMs: number;
}

/** What taking a token decided, as the Lua script and the local limiter both report it. */
export interface RateDecision {
  readonly allowed: boolean;
  /** Whole tokens left. */
  readonly remaining: number;
  /** Until a token is available; 0 when allowed. */
  readonly retryAfterMs: number;
  /** Until the bucket is full again. */
  readonly resetMs: number;
}

/**
 * Takes one token: the same arithmetic as lua/token-bucket-1.lua, for the local fallback and for tests.
 * A bucket never seen starts full.
 */
export function takeToken(bucket: Bucket | undefined, nowMs: number, ratePerSecond: number, burst: number): { bucket: Bucket; decision: RateDecision } {
  let tokens = bucket?.tokens ?? burst;
  let atMs = bucket?.atMs ?? nowMs;
  if (nowMs > atMs) {
    tokens = Math.min(burst, tokens + ((nowMs - atMs) * ratePerSecond) / 1000);
    atMs = nowMs;
  }
  let allowed = false;
  let retryAfterMs = 0;
  if (tokens >= 1) {
    tokens -= 1;
    allowed = true;
  } else {
    retryAfterMs = Math.ceil(((1 - tokens) * 1000) / ratePerSecond);
  }
  const resetMs = Math.ceil(((burst - tokens) * 1000) / ratePerSecond);
  return { bucket: { tokens, atMs }, decision: { allowed, remaining: Math.floor(tokens), retryAfterMs, resetMs } };
}
