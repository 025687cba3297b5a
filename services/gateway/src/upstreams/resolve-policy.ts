import { durationMs, type Duration } from "@bufbuild/protobuf/wkt";
import { LoadBalancing, LoadBalancingSchema, type RetryPolicy, type ServicePolicy, type TimeoutPolicy } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import type { BalancingAlgorithm } from "../../../../lib/balancing/choose-instance.ts";
import { defaultPolicy, withDefaults } from "../../../../lib/policy/policy-defaults.ts";
import type { OutlierBreakerOptions } from "../../../../lib/resilience/outlier-breaker.ts";

/** A service's retry and timeout settings for one method, in plain numbers. */
export interface MethodSettings {
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Whole call, all attempts. */
  readonly requestTimeoutMs: number;
  /** Each attempt. */
  readonly attemptTimeoutMs: number;
}

/** A service's policy with every default applied, as the gateway uses it. */
export interface ResolvedPolicy {
  readonly service: string;
  readonly version: bigint;
  readonly balancing: BalancingAlgorithm;
  readonly budgetRatio: number;
  readonly budgetMinPerSecond: number;
  readonly breaker: OutlierBreakerOptions & { readonly halfOpenAfterMs: number; readonly maxEjectionRatio: number };
  /** Settings of a method (`package.Service/Method`), with its overrides. */
  method(name: string): MethodSettings;
}

const algorithms: Partial<Record<LoadBalancing, BalancingAlgorithm>> = {
  [LoadBalancing.ROUND_ROBIN]: "round_robin",
  [LoadBalancing.LEAST_REQUEST]: "least_request",
  [LoadBalancing.PEAK_EWMA]: "peak_ewma",
};

/** The algorithm's name as policies and spans show it, such as "LOAD_BALANCING_PEAK_EWMA". */
export function balancingName(value: LoadBalancing): string {
  return LoadBalancingSchema.value[value]?.name ?? String(value);
}

const ms = (d: Duration | undefined, fallback: number) => (d === undefined ? fallback : durationMs(d));

function methodSettings(retry: RetryPolicy | undefined, timeout: TimeoutPolicy | undefined, base: MethodSettings): MethodSettings {
  const requestTimeoutMs = ms(timeout?.requestTimeout, base.requestTimeoutMs);
  return {
    maxAttempts: retry ? retry.maxAttempts || 3 : base.maxAttempts,
    initialBackoffMs: retry ? ms(retry.initialBackoff, 25) : base.initialBackoffMs,
    maxBackoffMs: retry ? ms(retry.maxBackoff, 1000) : base.maxBackoffMs,
    requestTimeoutMs,
    attemptTimeoutMs: Math.min(ms(timeout?.attemptTimeout, timeout?.requestTimeout ? requestTimeoutMs : base.attemptTimeoutMs), requestTimeoutMs),
  };
}

/**
 * A ServicePolicy as the gateway applies it: control's defaults for anything unset (control sends policies
 * with defaults filled; a service nobody set a policy for gets them here), and per-method overrides merged
 * over the service's settings.
 */
export function resolvePolicy(policy: ServicePolicy | undefined, service: string): ResolvedPolicy {
  const p = policy === undefined ? defaultPolicy(service) : withDefaults(policy);
  const retry = p.retry!;
  const breaker = p.breaker!;
  const base = methodSettings(retry, p.timeout, {
    maxAttempts: 3,
    initialBackoffMs: 25,
    maxBackoffMs: 1000,
    requestTimeoutMs: 15_000,
    attemptTimeoutMs: 15_000,
  });
  const overrides = new Map(p.methods.map((m) => [m.method, methodSettings(m.retry, m.timeout, base)] as const));
  return {
    service,
    version: p.version,
    balancing: algorithms[p.loadBalancing] ?? "round_robin",
    budgetRatio: retry.budgetRatio,
    budgetMinPerSecond: retry.budgetMinPerSecond,
    breaker: {
      consecutiveFailures: breaker.consecutiveFailures,
      failureRateThreshold: breaker.failureRateThreshold,
      samplingWindowMs: ms(breaker.samplingWindow, 10_000),
      minimumRequests: breaker.minimumRequests,
      halfOpenAfterMs: ms(breaker.halfOpenAfter, 5000),
      maxEjectionRatio: breaker.maxEjectionRatio,
    },
    method: (name) => overrides.get(name) ?? base,
  };
}
