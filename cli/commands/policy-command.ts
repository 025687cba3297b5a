import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError, type Command } from "commander";
import { LoadBalancing, LoadBalancingSchema, type ServicePolicy } from "../../gen/mesh/control/v1/policy_pb.ts";
import type { CliContext } from "../cli-context.ts";
import { fmt } from "../format-values.ts";
import { parse } from "../option-parsers.ts";

const algorithms: Record<string, LoadBalancing> = {
  "round-robin": LoadBalancing.ROUND_ROBIN,
  "least-request": LoadBalancing.LEAST_REQUEST,
  "peak-ewma": LoadBalancing.PEAK_EWMA,
};

function printPolicy(ctx: CliContext, policy: ServicePolicy | undefined): void {
  if (ctx.out.json) return ctx.out.data(policy);
  if (!policy) return;
  ctx.out.table(
    ["setting", "value"],
    [
      ["service", policy.service],
      ["version", policy.version.toString()],
      ["load balancing", fmt.enumName(LoadBalancingSchema.value[policy.loadBalancing]?.name, "LOAD_BALANCING")],
      ["retry attempts", String(policy.retry?.maxAttempts ?? "-")],
      ["retry backoff", `${fmt.ms(policy.retry?.initialBackoff)} .. ${fmt.ms(policy.retry?.maxBackoff)}`],
      ["retry budget", `${fmt.percent(policy.retry?.budgetRatio ?? 0)} + ${policy.retry?.budgetMinPerSecond ?? 0}/s`],
      ["request timeout", fmt.ms(policy.timeout?.requestTimeout)],
      ["attempt timeout", fmt.ms(policy.timeout?.attemptTimeout)],
      ["breaker: consecutive failures", String(policy.breaker?.consecutiveFailures ?? "-")],
      ["breaker: failure rate", fmt.percent(policy.breaker?.failureRateThreshold ?? 0)],
      ["breaker: half-open after", fmt.ms(policy.breaker?.halfOpenAfter)],
      ["breaker: max ejected", fmt.percent(policy.breaker?.maxEjectionRatio ?? 0)],
      ["updated", `${fmt.time(policy.updateTime)} by ${policy.updatedBy || "-"}`],
    ],
  );
}

interface SetOptions {
  lb?: string;
  attempts?: number;
  budget?: number;
  requestTimeout?: number;
  attemptTimeout?: number;
  consecutiveFailures?: number;
  failureRate?: number;
  maxEjection?: number;
}

/** `mesh policy get|set`. */
export function registerPolicyCommand(program: Command, context: () => CliContext): void {
  const policy = program.command("policy").description("read and change a service's traffic policy");
  policy
    .command("get")
    .argument("<service>", "the service, e.g. backend")
    .description("show a service's policy")
    .action(async (service: string) => {
      const ctx = context();
      printPolicy(ctx, (await ctx.policies.getPolicy({ service })).policy);
    });
  policy
    .command("set")
    .argument("<service>", "the service, e.g. backend")
    .description("change settings of a service's policy; the rest stays as it is")
    .option("--lb <algorithm>", `load balancing: ${Object.keys(algorithms).join(", ")}`, (v) => {
      if (!(v in algorithms)) throw new InvalidArgumentError(`expected one of ${Object.keys(algorithms).join(", ")}`);
      return v;
    })
    .option("--attempts <n>", "attempts in all, 1 to 10", parse.number)
    .option("--budget <ratio>", "retries as a fraction of requests", parse.number)
    .option("--request-timeout <d>", "deadline of a whole call", parse.duration)
    .option("--attempt-timeout <d>", "deadline of each attempt", parse.duration)
    .option("--consecutive-failures <n>", "failures in a row that open a breaker", parse.number)
    .option("--failure-rate <ratio>", "failure rate that opens a breaker", parse.number)
    .option("--max-ejection <ratio>", "largest share of instances ejected at once", parse.number)
    .action(async (service: string, o: SetOptions) => {
      const ctx = context();
      const { policy: current } = await ctx.policies.getPolicy({ service });
      if (!current) return;
      const next: ServicePolicy = { ...current };
      if (o.lb !== undefined) next.loadBalancing = algorithms[o.lb]!;
      if (next.retry) {
        if (o.attempts !== undefined) next.retry.maxAttempts = o.attempts;
        if (o.budget !== undefined) next.retry.budgetRatio = o.budget;
      }
      if (next.timeout) {
        if (o.requestTimeout !== undefined) next.timeout.requestTimeout = durationFromMs(o.requestTimeout);
        if (o.attemptTimeout !== undefined) next.timeout.attemptTimeout = durationFromMs(o.attemptTimeout);
      }
      if (next.breaker) {
        if (o.consecutiveFailures !== undefined) next.breaker.consecutiveFailures = o.consecutiveFailures;
        if (o.failureRate !== undefined) next.breaker.failureRateThreshold = o.failureRate;
        if (o.maxEjection !== undefined) next.breaker.maxEjectionRatio = o.maxEjection;
      }
      const res = await ctx.policies.setPolicy({ policy: next, expectedVersion: current.version });
      printPolicy(ctx, res.policy);
    });
}
