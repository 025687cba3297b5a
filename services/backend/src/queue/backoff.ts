/** Exponential backoff with jitter for retries. */
export interface RetryPolicy {
  /** Delay after the first failed delivery, before jitter. @default 1000 */
  readonly baseMs: number;
  /** Largest delay, before jitter. @default 300000 (5 minutes) */
  readonly capMs: number;
  /** Fraction of each delay that is random, 0 to 1. @default 0.5 */
  readonly jitter: number;
}

export const defaultRetryPolicy: RetryPolicy = { baseMs: 1000, capMs: 300_000, jitter: 0.5 };

/**
 * Delay before the retry that follows failed delivery `attempt` (1-based): exp = min(cap, base * 2^(attempt-1)),
 * of which the `jitter` fraction is random: floor(exp * (1 - jitter + jitter * r)) with r in [0, 1).
 * includes/backoff.lua computes the same inside the scripts.
 */
export function retryDelayMs(attempt: number, policy: RetryPolicy, r: number): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1));
  return Math.floor(exp * (1 - policy.jitter + policy.jitter * r));
}

/**
 * The i-th (1-based) random number of a script call in [0, 1), derived from the one seed the call passes:
 * scripts get no randomness of their own. Mirrors randomAt in includes/backoff.lua.
 */
export function randomAt(seed: number, i: number): number {
  const v = seed + i * 0.6180339887498949;
  return v - Math.floor(v);
}
