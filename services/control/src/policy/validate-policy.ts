import { durationMs, type Duration } from "@bufbuild/protobuf/wkt";
import { LoadBalancing, type RetryPolicy, type ServicePolicy, type TimeoutPolicy } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import { invalidArguments } from "../../../../lib/errors/connect-errors.ts";
import { isEnumValue } from "../../../../lib/errors/enum-value.ts";

type Violation = { field: string; reason: string };

const servicePattern = /^[A-Za-z0-9._-]{1,100}$/;
const methodPattern = /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+\/[A-Za-z_]\w*$/;

function ms(d: Duration | undefined): number | undefined {
  return d === undefined ? undefined : durationMs(d);
}

function range(out: Violation[], field: string, value: number | undefined, min: number, max: number, unit = ""): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < min || value > max) {
    out.push({ field, reason: `must be between ${min}${unit} and ${max}${unit}` });
  }
}

function checkRetry(out: Violation[], prefix: string, retry: RetryPolicy | undefined): void {
  if (!retry) return;
  range(out, `${prefix}.max_attempts`, retry.maxAttempts, 0, 10);
  range(out, `${prefix}.initial_backoff`, ms(retry.initialBackoff), 1, 10_000, " ms");
  range(out, `${prefix}.max_backoff`, ms(retry.maxBackoff), 1, 60_000, " ms");
  const initial = ms(retry.initialBackoff);
  const max = ms(retry.maxBackoff);
  if (initial !== undefined && max !== undefined && max < initial) {
    out.push({ field: `${prefix}.max_backoff`, reason: "must not be shorter than initial_backoff" });
  }
  range(out, `${prefix}.budget_ratio`, retry.budgetRatio, 0, 1);
  range(out, `${prefix}.budget_min_per_second`, retry.budgetMinPerSecond, 0, 1000);
}

function checkTimeout(out: Violation[], prefix: string, timeout: TimeoutPolicy | undefined): void {
  if (!timeout) return;
  range(out, `${prefix}.request_timeout`, ms(timeout.requestTimeout), 1, 300_000, " ms");
  range(out, `${prefix}.attempt_timeout`, ms(timeout.attemptTimeout), 1, 300_000, " ms");
  const request = ms(timeout.requestTimeout);
  const attempt = ms(timeout.attemptTimeout);
  if (request !== undefined && attempt !== undefined && attempt > request) {
    out.push({ field: `${prefix}.attempt_timeout`, reason: "must not be longer than request_timeout" });
  }
}

/** Throws InvalidArgument naming every field of a policy that is out of range. */
export function validatePolicy(policy: ServicePolicy | undefined): asserts policy is ServicePolicy {
  const out: Violation[] = [];
  if (policy === undefined) throw invalidArguments([{ field: "policy", reason: "is required" }]);
  if (!servicePattern.test(policy.service)) out.push({ field: "policy.service", reason: "must be a service name such as backend" });
  if (!isEnumValue(LoadBalancing, policy.loadBalancing)) out.push({ field: "policy.load_balancing", reason: "unknown algorithm" });
  checkRetry(out, "policy.retry", policy.retry);
  checkTimeout(out, "policy.timeout", policy.timeout);
  const b = policy.breaker;
  if (b) {
    range(out, "policy.breaker.consecutive_failures", b.consecutiveFailures, 0, 1000);
    range(out, "policy.breaker.failure_rate_threshold", b.failureRateThreshold, 0, 1);
    range(out, "policy.breaker.sampling_window", ms(b.samplingWindow), 1000, 600_000, " ms");
    range(out, "policy.breaker.minimum_requests", b.minimumRequests, 0, 100_000);
    range(out, "policy.breaker.half_open_after", ms(b.halfOpenAfter), 100, 600_000, " ms");
    if (!(b.maxEjectionRatio >= 0 && b.maxEjectionRatio < 1)) {
      out.push({ field: "policy.breaker.max_ejection_ratio", reason: "must be at least 0 and below 1: ejecting every instance would leave calls nowhere to go" });
    }
  }
  if (policy.methods.length > 100) out.push({ field: "policy.methods", reason: "at most 100 entries" });
  const seen = new Set<string>();
  policy.methods.forEach((m, i) => {
    if (!methodPattern.test(m.method)) out.push({ field: `policy.methods[${i}].method`, reason: "must be `package.Service/Method`" });
    else if (seen.has(m.method)) out.push({ field: `policy.methods[${i}].method`, reason: "appears twice" });
    seen.add(m.method);
    checkRetry(out, `policy.methods[${i}].retry`, m.retry);
    checkTimeout(out, `policy.methods[${i}].timeout`, m.timeout);
  });
  if (out.length > 0) throw invalidArguments(out);
}
