import { BulkheadPolicy, CircuitBreakerPolicy, CircuitState, bulkhead, circuitBreaker, handleWhenResult } from "cockatiel";
import { initialEwma, observeLatency, type EwmaEstimate } from "../../../../lib/balancing/peak-ewma.ts";
import { capEjection, createOutlierBreaker } from "../../../../lib/resilience/outlier-breaker.ts";
import type { InstanceInfo } from "../discovery/registry-view.ts";
import type { JudgedOutcome } from "../resilience/attempt-outcome.ts";
import { createUpstream, type Upstream } from "../upstream.ts";
import { createEndpointStats, type EndpointStats } from "./endpoint-stats.ts";
import type { ResolvedPolicy } from "./resolve-policy.ts";

export type BreakerStateName = "closed" | "open" | "half_open" | "isolated";

const stateNames: Record<CircuitState, BreakerStateName> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "isolated",
};

/** What every attempt on one instance runs through: cockatiel's bulkhead, then its circuit breaker. */
export interface EndpointPolicy {
  execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal: AbortSignal): Promise<T>;
}

export interface EndpointOptions {
  /** Calls in flight beyond which new ones are refused (BulkheadRejectedError), never queued. */
  maxInFlight: number;
  /** Whether the pool has room for one more ejected instance besides this one. */
  mayEject(endpoint: Endpoint): boolean;
  /** Breaker transitions, for metrics, logs and span events. */
  onBreakerChange(endpoint: Endpoint, from: BreakerStateName, to: BreakerStateName): void;
  now: () => number;
}

/**
 * One instance as the gateway uses it: its own HTTP/2 connection, its calls in flight and latency estimate
 * (what the balancers look at), its cockatiel circuit breaker (outlier ejection, capped by the pool) and
 * bulkhead, and its golden figures.
 */
export interface Endpoint {
  readonly id: string;
  readonly upstream: Upstream;
  readonly info: InstanceInfo;
  readonly inFlight: number;
  readonly ewma: EwmaEstimate;
  readonly stats: EndpointStats;
  readonly breakerState: BreakerStateName;
  /** When the breaker last changed state (epoch ms). */
  readonly breakerChangedAt: number;
  readonly consecutiveFailures: number;
  /** Bulkhead, then breaker: the per-instance layers every attempt runs through. */
  readonly policy: EndpointPolicy;
  /** Takes new calls now: serving, not isolated or retired, breaker closed or due for its half-open probe. */
  eligible(nowMs: number): boolean;
  /** Counts against the ejection cap: the breaker is open or probing. */
  ejected(): boolean;
  /** Newer registry data for this instance (same id and address). */
  update(info: InstanceInfo): void;
  /** Rebuilds the breaker when the policy's thresholds changed; `force` closes it (an operator's reset). */
  configure(policy: ResolvedPolicy, force?: boolean): void;
  callStarted(): void;
  callEnded(latencyMs: number | undefined, failed: boolean): void;
  /** No new calls; the connection closes once calls in flight are done. */
  retire(): void;
  readonly retired: boolean;
}

function breakerKey(policy: ResolvedPolicy): string {
  return JSON.stringify(policy.breaker);
}

export function createEndpoint(info: InstanceInfo, policy: ResolvedPolicy, options: EndpointOptions): Endpoint {
  const upstream = createUpstream(info.address);
  const limiter: BulkheadPolicy = bulkhead(options.maxInFlight, 0);
  let current = info;
  let inFlight = 0;
  let ewma = initialEwma(options.now());
  let retired = false;
  let breaker!: CircuitBreakerPolicy;
  // What cockatiel's wrap(limiter, breaker) does, without the context objects it copies per layer and call.
  const layers: EndpointPolicy = {
    execute: (fn, signal) => limiter.execute(({ signal: inner }) => breaker.execute(fn, inner), signal),
  };
  let key = "";
  let halfOpenAfterMs = 0;
  let openedAt = 0;
  let changedAt = options.now();
  let consecutive = 0;
  let isolation: { dispose(): void } | undefined;
  let isolationTimer: NodeJS.Timeout | undefined;
  const stats = createEndpointStats({ now: options.now });

  const endpoint: Endpoint = {
    id: info.id,
    upstream,
    get info() {
      return current;
    },
    get inFlight() {
      return inFlight;
    },
    get ewma() {
      return ewma;
    },
    stats,
    get breakerState() {
      return stateNames[breaker.state];
    },
    get breakerChangedAt() {
      return changedAt;
    },
    get consecutiveFailures() {
      return consecutive;
    },
    policy: layers,
    get retired() {
      return retired;
    },
    eligible(nowMs) {
      if (retired || !current.serving) return false;
      switch (breaker.state) {
        case CircuitState.Closed:
          return true;
        case CircuitState.Open:
          return nowMs - openedAt >= halfOpenAfterMs;
        default:
          // HalfOpen: its one probe is in flight; Isolated: an operator took it out.
          return false;
      }
    },
    ejected() {
      return breaker.state === CircuitState.Open || breaker.state === CircuitState.HalfOpen;
    },
    update(next) {
      current = next;
      applyIsolation();
    },
    configure(nextPolicy, force = false) {
      const nextKey = breakerKey(nextPolicy);
      if (!force && nextKey === key) return;
      const previous = breaker === undefined ? undefined : stateNames[breaker.state];
      key = nextKey;
      halfOpenAfterMs = nextPolicy.breaker.halfOpenAfterMs;
      isolation = undefined;
      consecutive = 0;
      breaker = circuitBreaker(
        handleWhenResult((result) => (result as JudgedOutcome<unknown>).failure === true),
        {
          halfOpenAfter: halfOpenAfterMs,
          breaker: capEjection(createOutlierBreaker(nextPolicy.breaker), () => options.mayEject(endpoint)),
        },
      );
      let state: BreakerStateName = "closed";
      breaker.onStateChange((to) => {
        const from = state;
        state = stateNames[to];
        changedAt = options.now();
        if (to === CircuitState.Open) openedAt = Date.now();
        options.onBreakerChange(endpoint, from, state);
      });
      if (previous !== undefined && previous !== "closed") options.onBreakerChange(endpoint, previous, "closed");
      applyIsolation();
    },
    callStarted() {
      inFlight++;
    },
    callEnded(latencyMs, failed) {
      inFlight--;
      if (failed) consecutive++;
      else consecutive = 0;
      if (latencyMs !== undefined) {
        ewma = observeLatency(ewma, latencyMs, options.now());
        stats.record(latencyMs, failed);
      }
      if (retired && inFlight === 0) upstream.close();
    },
    retire() {
      retired = true;
      clearTimeout(isolationTimer);
      // In-flight streams finish: an HTTP/2 close() waits for them.
      upstream.close();
    },
  };

  /** Holds the breaker isolated (cockatiel's isolate()) while the registry says an operator isolated the instance. */
  function applyIsolation(): void {
    clearTimeout(isolationTimer);
    const until = current.isolatedUntilMs;
    const isolated = until !== undefined && until > Date.now();
    if (isolated && isolation === undefined) isolation = breaker.isolate();
    if (!isolated && isolation !== undefined) {
      isolation.dispose();
      isolation = undefined;
    }
    if (isolated) {
      // The registry does not announce the end of a timed isolation: the breaker closes on time by itself.
      isolationTimer = setTimeout(applyIsolation, Math.min(until - Date.now() + 1, 2 ** 31 - 1));
      isolationTimer.unref();
    }
  }

  endpoint.configure(policy);
  return endpoint;
}
