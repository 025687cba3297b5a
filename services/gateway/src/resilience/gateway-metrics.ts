import { Code } from "@connectrpc/connect";
import { Counter, Gauge, Histogram, type Metric, type Registry } from "prom-client";
import type { BreakerStateName } from "../upstreams/endpoint.ts";
import type { RouteTally } from "./route-tally.ts";

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const breakerValue: Record<BreakerStateName, number> = { closed: 0, open: 1, half_open: 2, isolated: 3 };

export function codeLabel(code: Code | undefined): string {
  if (code === undefined) return "ok";
  return Code[code]!.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
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

/** `traffic` also receives requests, retries and budget exhaustion, for the traffic reports to control. */
export function createGatewayMetrics(options: { traffic?: RouteTally } = {}): GatewayMetrics {
  const { traffic } = options;
  const requests = new Counter({
    name: "gateway_requests_total",
    help: "Calls as callers see them (before retries), by route, method and outcome code.",
    labelNames: ["route", "rpc_method", "code"],
    registers: [],
  });
  const requestDuration = new Histogram({
    name: "gateway_request_duration_seconds",
    help: "Call latency as callers see it, all attempts and backoffs included.",
    labelNames: ["route", "rpc_method", "code"],
    buckets: latencyBuckets,
    registers: [],
  });
  const attempts = new Counter({
    name: "gateway_upstream_attempts_total",
    help: "Attempts sent to instances (after retries), by route, method, instance and outcome code.",
    labelNames: ["route", "rpc_method", "instance", "code"],
    registers: [],
  });
  const attemptDuration = new Histogram({
    name: "gateway_upstream_attempt_duration_seconds",
    help: "Latency of single attempts, by instance.",
    labelNames: ["route", "rpc_method", "instance", "code"],
    buckets: latencyBuckets,
    registers: [],
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
  const picks = new Counter({
    name: "gateway_balancer_picks_total",
    help: "Instances the balancer picked, by service, instance and algorithm.",
    labelNames: ["upstream_service", "instance", "balancing"],
    registers: [],
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
  const all = [requests, requestDuration, attempts, attemptDuration, retries, exhausted, picks, breakerState, transitions, rejections];
  return {
    request(route, method, code, seconds) {
      const labels = { route, rpc_method: method, code: codeLabel(code) };
      requests.inc(labels);
      requestDuration.observe(labels, seconds);
      traffic?.request(route, method, code, seconds);
    },
    attempt(route, method, instance, code, seconds) {
      const labels = { route, rpc_method: method, instance, code: codeLabel(code) };
      attempts.inc(labels);
      attemptDuration.observe(labels, seconds);
    },
    retry(route, method, reason) {
      retries.inc({ route, rpc_method: method, reason });
      traffic?.retry(route, method);
    },
    budgetExhausted(service, method) {
      exhausted.inc({ upstream_service: service, rpc_method: method });
      traffic?.budgetExhausted(service);
    },
    pick: (service, instance, balancing) => picks.inc({ upstream_service: service, instance, balancing }),
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
