export interface RetryBudgetOptions {
  /** Retries allowed as a fraction of requests over the window, 0 to 1. */
  ratio: number;
  /** Retries always allowed in each second, whatever the ratio. */
  minPerSecond: number;
  /** @default 10000 */
  windowMs?: number;
  /** @default Date.now */
  now?: () => number;
}

export interface RetryBudget {
  /** Counts one request (a first attempt). */
  deposit(): void;
  /** Takes one retry when the budget allows it; false means "do not retry". */
  withdraw(): boolean;
  /** Changes the ratio and floor; counts so far are kept. */
  configure(ratio: number, minPerSecond: number): void;
}

/**
 * A retry budget as Linkerd and Envoy keep one: over a sliding window (one-second buckets, no timers),
 * retries may be at most `ratio` of the requests, plus `minPerSecond` in any second so that a service with
 * little traffic can still retry. When every instance fails, retries stop at that share instead of
 * multiplying the load on a service that is already down.
 */
export function createRetryBudget(options: RetryBudgetOptions): RetryBudget {
  const now = options.now ?? Date.now;
  const buckets = Math.max(1, Math.round((options.windowMs ?? 10_000) / 1000));
  const second = new Float64Array(buckets).fill(-1);
  const requests = new Float64Array(buckets);
  const retries = new Float64Array(buckets);
  let ratio = options.ratio;
  let minPerSecond = options.minPerSecond;

  function bucket(): number {
    const s = Math.floor(now() / 1000);
    const i = s % buckets;
    if (second[i] !== s) {
      second[i] = s;
      requests[i] = 0;
      retries[i] = 0;
    }
    return i;
  }

  function totals(current: number): { requests: number; retries: number } {
    let r = 0;
    let t = 0;
    for (let i = 0; i < buckets; i++) {
      if (second[i]! > current - buckets && second[i]! <= current) {
        r += requests[i]!;
        t += retries[i]!;
      }
    }
    return { requests: r, retries: t };
  }

  return {
    deposit() {
      requests[bucket()]! += 1;
    },
    withdraw() {
      const i = bucket();
      const window = totals(second[i]!);
      const allowed = retries[i]! < minPerSecond || window.retries < ratio * window.requests;
      if (allowed) retries[i]! += 1;
      return allowed;
    },
    configure(nextRatio, nextMinPerSecond) {
      ratio = nextRatio;
      minPerSecond = nextMinPerSecond;
    },
  };
}
