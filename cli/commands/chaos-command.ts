import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError, type Command } from "commander";
import { Code as RpcCode } from "../../gen/google/rpc/code_pb.ts";
import { FaultSchema } from "../../gen/mesh/chaos/v1/fault_pb.ts";
import { FaultTargetSchema, type ActiveFault } from "../../gen/mesh/control/v1/chaos_pb.ts";
import type { CliContext } from "../cli-context.ts";
import { UsageError } from "../cli-errors.ts";
import { fmt } from "../format-values.ts";
import { parse } from "../option-parsers.ts";

const kinds = ["error-rate", "latency", "hang", "crash", "database", "cache", "memory"] as const;

function grpcCode(text: string): RpcCode {
  const value = (RpcCode as Record<string, number>)[text.toUpperCase().replaceAll("-", "_")];
  if (value === undefined || value === RpcCode.OK) throw new InvalidArgumentError("expected a gRPC code name such as unavailable or internal");
  return value as RpcCode;
}

interface InjectOptions {
  service?: string;
  instance?: string;
  duration: number;
  rate?: number;
  code?: RpcCode;
  latency?: number;
  jitter?: number;
  delay?: number;
  exitCode?: number;
  mbps?: number;
  maxMb?: number;
  method?: string[];
}

type SpecInit = MessageInitShape<typeof FaultSchema>["spec"];

function specOf(kind: (typeof kinds)[number], o: InjectOptions): SpecInit {
  switch (kind) {
    case "error-rate":
      return { case: "errorRate", value: { rate: o.rate ?? 1, code: o.code ?? RpcCode.UNAVAILABLE } };
    case "latency":
      return {
        case: "latency",
        value: { delay: durationFromMs(o.latency ?? 200), jitter: o.jitter === undefined ? undefined : durationFromMs(o.jitter), rate: o.rate ?? 0 },
      };
    case "hang":
      return { case: "hang", value: { rate: o.rate ?? 0 } };
    case "crash":
      return { case: "crash", value: { delay: durationFromMs(o.delay ?? 0), exitCode: o.exitCode ?? 1 } };
    case "database":
    case "cache":
      return {
        case: kind,
        value: { failureRate: o.rate ?? 1, addedLatency: o.latency === undefined ? undefined : durationFromMs(o.latency) },
      };
    case "memory":
      return { case: "memoryPressure", value: { megabytesPerSecond: o.mbps ?? 10, maxMegabytes: o.maxMb ?? 100 } };
  }
}

function printFaults(ctx: CliContext, faults: readonly ActiveFault[]): void {
  if (ctx.out.json) return ctx.out.data(faults);
  ctx.out.table(
    ["id", "kind", "target", "instances", "expires"],
    faults.map((f) => [
      f.id,
      f.fault?.spec.case ?? "-",
      f.target?.target.case === "service" ? `service ${f.target.target.value}` : `instance ${f.target?.target.value ?? ""}`,
      f.instanceIds.join(", "),
      fmt.time(f.fault?.expireTime),
    ]),
  );
}

/** `mesh chaos inject|list|clear`. */
export function registerChaosCommand(program: Command, context: () => CliContext): void {
  const chaos = program.command("chaos").description("inject, list and clear faults");
  chaos
    .command("inject")
    .description(`inject a fault on a service or an instance; KIND is one of ${kinds.join(", ")}`)
    .argument("<kind>", "fault kind", (k) => {
      if (!(kinds as readonly string[]).includes(k)) throw new InvalidArgumentError(`expected one of ${kinds.join(", ")}`);
      return k as (typeof kinds)[number];
    })
    .option("--service <name>", "every instance of this service")
    .option("--instance <id>", "one instance")
    .requiredOption("--duration <d>", "how long, e.g. 30s", parse.duration)
    .option("--rate <r>", "fraction of calls affected (error-rate, latency, hang, database, cache)", parse.ratio)
    .option("--code <name>", "gRPC code for error-rate, e.g. unavailable", grpcCode)
    .option("--latency <d>", "added delay (latency, database, cache)", parse.duration)
    .option("--jitter <d>", "random extra delay (latency)", parse.duration)
    .option("--delay <d>", "time before the exit (crash)", parse.duration)
    .option("--exit-code <n>", "exit code (crash)", parse.integer)
    .option("--mbps <n>", "growth in MB/s (memory)", parse.integer)
    .option("--max-mb <n>", "bound in MB (memory)", parse.integer)
    .option("--method <name...>", "only these methods, as package.Service/Method")
    .action(async (kind: (typeof kinds)[number], options: InjectOptions) => {
      const ctx = context();
      if ((options.service === undefined) === (options.instance === undefined)) {
        throw new UsageError("give exactly one of --service and --instance");
      }
      const target = create(FaultTargetSchema, {
        target: options.service !== undefined ? { case: "service", value: options.service } : { case: "instanceId", value: options.instance! },
      });
      const fault = create(FaultSchema, { duration: durationFromMs(options.duration), spec: specOf(kind, options), methods: options.method ?? [] });
      const res = await ctx.chaos.injectFault({ target, fault });
      if (ctx.out.json) return ctx.out.data(res.fault);
      ctx.out.line(`injected ${res.fault?.id} on ${res.fault?.instanceIds.join(", ")} until ${fmt.time(res.fault?.fault?.expireTime)}`);
    });
  chaos
    .command("list")
    .description("list active faults")
    .action(async () => {
      const ctx = context();
      printFaults(ctx, (await ctx.chaos.listFaults({})).faults);
    });
  chaos
    .command("clear")
    .description("end a fault now")
    .argument("<id>", "the fault's id, from `mesh chaos list`")
    .action(async (id: string) => {
      const ctx = context();
      const res = await ctx.chaos.clearFault({ id });
      if (ctx.out.json) return ctx.out.data(res.fault);
      ctx.out.line(`cleared ${id}`);
    });
}
