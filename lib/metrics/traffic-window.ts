/** Request figures over the last minute. */
export interface TrafficSnapshot {
  requestsPerMinute: number;
  /** 0 to 1. */
  errorRate: number;
  averageResponseMs: number;
  requestsTotal: number;
}

export interface TrafficWindow {
  record(durationMs: number, failed: boolean): void;
  snapshot(): TrafficSnapshot;
}

/**
 * A sliding window of one-second buckets: O(1) to record, O(buckets) to read, and no timers.
 * @param now the clock, in milliseconds; tests pass a fake one.
 */
export function createTrafficWindow(options: { seconds?: number; now?: () => number } = {}): TrafficWindow {
  const seconds = options.seconds ?? 60;
  const now = options.now ?? Date.now;
  const second = new Float64Array(seconds).fill(-1);
  const count = new Float64Array(seconds);
  const errors = new Float64Array(seconds);
  const durationSum = new Float64Array(seconds);
  let total = 0;

  function bucket(at: number): number {
    const s = Math.floor(at / 1000);
    const i = s % seconds;
    if (second[i] !== s) {
      second[i] = s;
      count[i] = 0;
      errors[i] = 0;
      durationSum[i] = 0;
    }
    return i;
  }

  return {
    record(durationMs, failed) {
      const i = bucket(now());
      count[i]! += 1;
      if (failed) errors[i]! += 1;
      durationSum[i]! += durationMs;
      total++;
    },
    snapshot() {
      const current = Math.floor(now() / 1000);
      let n = 0;
      let failed = 0;
      let sum = 0;
      for (let i = 0; i < seconds; i++) {
        if (second[i]! > current - seconds && second[i]! <= current) {
          n += count[i]!;
          failed += errors[i]!;
          sum += durationSum[i]!;
        }
      }
      return {
        requestsPerMinute: (n * 60) / seconds,
        errorRate: n === 0 ? 0 : failed / n,
        averageResponseMs: n === 0 ? 0 : sum / n,
        requestsTotal: total,
      };
    },
  };
}
