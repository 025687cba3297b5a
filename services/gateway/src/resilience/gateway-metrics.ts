import { Code } from "@connectrpc/connect";
import { Counter, Gauge, type Metric, type Registry } from "prom-client";
import type { BreakerStateName } from "../upstreams/endpoint.ts";
import type { RouteTally } from "./route-tally.ts";
import { createSeriesCounter, createSeriesHistogram } from "./series-metrics.ts";

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const breakerValue: Record<BreakerStateName, number> = { closed: 0, open: 1, half_open: 2, isolated: 3 };

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
}

const codeLabels = new Map<Code, string>(
  Object.values(Code)
    .filter((v): v is Code => typeof v === "number")
    .map((code) => [code, snakeCase(Code[code]!)]),
);

export function codeLabel(code: Code | undefined): string {
  if (code === undefined) return "ok";
  return codeLabels.get(code) ?? snakeCase(Code[code] ?? String(code));
}

/**
 * A value per three label values, each level a Map: the hot metrics' handles are found without building a key
 * string, as the label values (route templates, method names, instance ids) are the same strings each time.
 */
function memo3<S>(make: (a: string, b: string, c: string) => S): (a: string, b: string, c: string) => S {
  const root = new Map<string, Map<string, Map<string, S>>>();
  return (a, b, c) => {
    let byB = root.get(a);
    if (!byB) root.set(a, (byB = new Map()));
    let byC = byB.get(b);
    if (!byC) byB.set(b, (byC = new Map()));
    let found = byC.get(c);
    if (found === undefined) byC.set(c, (found = make(a, b, c)));
    return found;
  };
}

/** memo3 with a fourth label value. */
function memo4<S>(make: (a: string, b: string, c: string, d: string) => S): (a: string, b: string, c: string, d: string) => S {
  const root = new Map<string, (b: string, c: string, d: string) => S>();
  return (a, b, c, d) => {
    let rest = root.get(a);
    if (!rest) root.set(a, (rest = memo3((b2, c2, d2) => make(a, b2, c2, d2))));
    return rest(b, c, d);
  };
}

/**
 * The gateway's golden metrics, Linkerd-style, per route and method: requests as callers see them (before
 * retries) and attempts as instances see them (after retries), retries and budget exhaustion, and per
 * instance the breaker state and the picks of the balancer.
 */
export interface GatewayMetrics {
  request(route: string, method: string, code: Code | undefined, seconds: number): void;
  attempt(route: string, method: string, instance: string, code: Code | undefined, seconds: number): void;
  retry(route: string, method: string, reason: string): void;
  budgetExhausted(service: string, method: string): void;
  pick(service: string, instance: string, balancing: string): void;
  breaker(service: string, instance: string, state: BreakerStateName): void;
  breakerTransition(service: string, instance: string, to: BreakerStateName): void;
  forgetInstance(service: string, instance: string): void;
  rejected(reason: "unauthenticated" | "permission_denied" | "rate_limited" | "too_large" | "cors"): void;
  /** Registers every metric on the service's registry (after startMeshService made it). */
  register(registry: Registry): void;
}

/**
 * `traffic` also receives requests, retries and budget exhaustion, for the traffic reports to control. The
 * per-call metrics (requests, attempts, picks) are recorded through series handles (series-metrics.ts).
 */
export function createGatewayMetrics(options: { traffic?: RouteTally } = {}): GatewayMetrics {
  const { traffic } = options;
  const requests = createSeriesCounter({
    name: "gateway_requests_total",
    help: "Calls as callers see them (before retries), by route, method and outcome code.",
    labelNames: ["route", "rpc_method", "code"],
  });
  const requestDuration = createSeriesHistogram({
    name: "gateway_request_duration_seconds",
    help: "Call latency as callers see it, all attempts and backoffs included.",
    labelNames: ["route", "rpc_method", "code"],
    buckets: latencyBuckets,
  });
  const attempts = createSeriesCounter({
    name: "gateway_upstream_attempts_total",
    help: "Attempts sent to instances (after retries), by route, method, instance and outcome code.",
    labelNames: ["route", "rpc_method", "instance", "code"],
  });
  const attemptDuration = createSeriesHistogram({
    name: "gateway_upstream_attempt_duration_seconds",
    help: "Latency of single attempts, by instance.",
    labelNames: ["route", "rpc_method", "instance", "code"],
    buckets: latencyBuckets,
  });
  const retries = new Counter({
    name: "gateway_retries_total",
    help: "Retries, by route, method and the reason of the attempt that failed.",
    labelNames: ["route", "rpc_method", "reason"],
    registers: [],
  });
  const exhausted = new Counter({
    name: "gateway_retry_budget_exhausted_total",
    help: "Retries not made because the service's retry budget was spent.",
    labelNames: ["upstream_service", "rpc_method"],
    registers: [],
  });
  const picks = createSeriesCounter({
    name: "gateway_balancer_picks_total",
    help: "Instances the balancer picked, by service, instance and algorithm.",
    labelNames: ["upstream_service", "instance", "balancing"],
  });
  const breakerState = new Gauge({
    name: "gateway_breaker_state",
    help: "Circuit breaker per instance: 0 closed, 1 open, 2 half-open, 3 isolated.",
    labelNames: ["upstream_service", "instance"],
    registers: [],
  });
  const transitions = new Counter({
    name: "gateway_breaker_transitions_total",
    help: "Circuit breaker state changes per instance, by the state entered.",
    labelNames: ["upstream_service", "instance", "state"],
    registers: [],
  });
  const rejections = new Counter({
    name: "gateway_rejected_requests_total",
    help: "Requests the gateway refused before any upstream work, by reason.",
    labelNames: ["reason"],
    registers: [],
  });
  const all = [requests.metric, requestDuration.metric, attempts.metric, attemptDuration.metric, retries, exhausted, picks.metric, breakerState, transitions, rejections];
  const requestSeries = memo3((route, method, code) => {
    const labels = { route, rpc_method: method, code };
    return { count: requests.series(labels), latency: requestDuration.series(labels) };
  });
  const attemptSeries = memo4((route, method, instance, code) => {
    const labels = { route, rpc_method: method, instance, code };
    return { count: attempts.series(labels), latency: attemptDuration.series(labels) };
  });
  const pickSeries = memo3((service, instance, balancing) => picks.series({ upstream_service: service, instance, balancing }));
  return {
    request(route, method, code, seconds) {
      const series = requestSeries(route, method, codeLabel(code));
      series.count.inc();
      series.latency.observe(seconds);
      traffic?.request(route, method, code, seconds);
    },
    attempt(route, method, instance, code, seconds) {
      const series = attemptSeries(route, method, instance, codeLabel(code));
      series.count.inc();
      series.latency.observe(seconds);
    },
    retry(route, method, reason) {
      retries.inc({ route, rpc_method: method, reason });
      traffic?.retry(route, method);
    },
    budgetExhausted(service, method) {
      exhausted.inc({ upstream_service: service, rpc_method: method });
      traffic?.budgetExhausted(service);
    },
    pick: (service, instance, balancing) => pickSeries(service, instance, balancing).inc(),
    breaker: (service, instance, state) => breakerState.set({ upstream_service: service, instance }, breakerValue[state]),
    breakerTransition: (service, instance, to) => transitions.inc({ upstream_service: service, instance, state: to }),
    forgetInstance(service, instance) {
      breakerState.remove({ upstream_service: service, instance });
    },
    rejected: (reason) => rejections.inc({ reason }),
    register(registry) {
      for (const metric of all) registry.registerMetric(metric as Metric);
    },
  };
}
