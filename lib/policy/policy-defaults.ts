import { clone, create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import {
  BreakerPolicySchema,
  LoadBalancing,
  RetryPolicySchema,
  ServicePolicySchema,
  TimeoutPolicySchema,
  type ServicePolicy,
} from "../../gen/mesh/control/v1/policy_pb.ts";

/**
 * The policy with every unset field given its documented default (see policy.proto), so gateways and
 * operators see the values in force rather than zeros.
 */
export function withDefaults(policy: ServicePolicy): ServicePolicy {
  const p = clone(ServicePolicySchema, policy);
  if (p.loadBalancing === LoadBalancing.UNSPECIFIED) p.loadBalancing = LoadBalancing.ROUND_ROBIN;
  p.retry ??= create(RetryPolicySchema);
  if (p.retry.maxAttempts === 0) p.retry.maxAttempts = 3;
  p.retry.initialBackoff ??= durationFromMs(25);
  p.retry.maxBackoff ??= durationFromMs(1000);
  if (p.retry.budgetRatio === 0) p.retry.budgetRatio = 0.2;
  if (p.retry.budgetMinPerSecond === 0) p.retry.budgetMinPerSecond = 10;
  p.timeout ??= create(TimeoutPolicySchema);
  p.timeout.requestTimeout ??= durationFromMs(15_000);
  p.timeout.attemptTimeout ??= p.timeout.requestTimeout;
  p.breaker ??= create(BreakerPolicySchema);
  if (p.breaker.consecutiveFailures === 0) p.breaker.consecutiveFailures = 5;
  p.breaker.samplingWindow ??= durationFromMs(10_000);
  if (p.breaker.minimumRequests === 0) p.breaker.minimumRequests = 20;
  p.breaker.halfOpenAfter ??= durationFromMs(5000);
  if (p.breaker.maxEjectionRatio === 0) p.breaker.maxEjectionRatio = 0.5;
  return p;
}

/** The policy of a service nobody has set: every default, version 0. */
export function defaultPolicy(service: string): ServicePolicy {
  return withDefaults(create(ServicePolicySchema, { service }));
}
