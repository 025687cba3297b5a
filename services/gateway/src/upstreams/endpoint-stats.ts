/** Golden signals of one instance as this gateway sees it, for the breaker reports to control. */
export interface EndpointFigures {
  requestsPerSecond: number;
  /** 0 to 1; 1 when there were no calls. */
  successRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  requestsTotal: number;
  errorsTotal: number;
  retriesTotal: number;
}

export interface EndpointStats {
  record(latencyMs: number, failed: boolean): void;
  /** A call to this instance that was a retry of one that failed elsewhere. */
  recordRetry(): void;
  figures(): EndpointFigures;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/**
 * The last `capacity` calls within `windowMs` in a ring (no timers, O(1) to record); percentiles are
 * computed when read, every couple of seconds.
 */
export function createEndpointStats(options: { windowMs?: number; capacity?: number; now?: () => number } = {}): EndpointStats {
  const windowMs = options.windowMs ?? 10_000;
  const capacity = options.capacity ?? 2048;
  const now = options.now ?? Date.now;
  const at = new Float64Array(capacity).fill(-Infinity);
  const latency = new Float64Array(capacity);
  const failed = new Uint8Array(capacity);
  let next = 0;
  let requestsTotal = 0;
  let errorsTotal = 0;
  let retriesTotal = 0;
  return {
    record(latencyMs, isFailure) {
      at[next] = now();
      latency[next] = latencyMs;
      failed[next] = isFailure ? 1 : 0;
      next = (next + 1) % capacity;
      requestsTotal++;
      if (isFailure) errorsTotal++;
    },
    recordRetry() {
      retriesTotal++;
    },
    figures() {
      const since = now() - windowMs;
      const samples: number[] = [];
      let failures = 0;
      let oldest = Infinity;
      for (let i = 0; i < capacity; i++) {
        if (at[i]! < since) continue;
        samples.push(latency[i]!);
        failures += failed[i]!;
        oldest = Math.min(oldest, at[i]!);
      }
      samples.sort((a, b) => a - b);
      // A full ring covers less than the window: rate over the span it does cover.
      const spanMs = samples.length >= capacity ? Math.max(1, now() - oldest) : windowMs;
      return {
        requestsPerSecond: (samples.length * 1000) / spanMs,
        successRate: samples.length === 0 ? 1 : 1 - failures / samples.length,
        p50Ms: percentile(samples, 0.5),
        p95Ms: percentile(samples, 0.95),
        p99Ms: percentile(samples, 0.99),
        requestsTotal,
        errorsTotal,
        retriesTotal,
      };
    },
  };
}
