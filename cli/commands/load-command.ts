import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { LoadTestSpecSchema, LoadTestStateSchema, type LoadTest } from "../../gen/mesh/control/v1/load_test_pb.ts";
import type { CliContext } from "../cli-context.ts";
import { UsageError } from "../cli-errors.ts";
import { fmt } from "../format-values.ts";
import { parse } from "../option-parsers.ts";

function progressBar(test: LoadTest, width = 30): string {
  const total = test.spec?.duration ? Number(test.spec.duration.seconds) : 0;
  const elapsed = test.progress?.elapsed ? Number(test.progress.elapsed.seconds) : 0;
  const done = total === 0 ? 0 : Math.min(1, elapsed / total);
  const filled = Math.round(done * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${Math.round(done * 100)}%`;
}

/** `mesh load run`: start a load test, watch its progress, then print its percentiles. */
export function registerLoadCommand(program: Command, context: () => CliContext): void {
  const load = program.command("load").description("run load tests against the mesh");
  load
    .command("run")
    .description("run a load test and watch it")
    .option("--path <path>", "an HTTP/JSON route on the gateway, e.g. /v1/items")
    .option("--method <verb>", "HTTP method for --path", "GET")
    .option("--rpc <method>", "an RPC instead, as package.Service/Method")
    .option("--concurrency <n>", "requests in flight at most", parse.positive, 10)
    .option("--rps <n>", "target requests per second", parse.positive, 100)
    .option("--duration <d>", "how long, e.g. 30s", parse.duration, 10_000)
    .option("--force", "run even if another test targets the same route")
    .action(async (o: { path?: string; method: string; rpc?: string; concurrency: number; rps: number; duration: number; force?: boolean }) => {
      const ctx = context();
      if ((o.path === undefined) === (o.rpc === undefined)) throw new UsageError("give exactly one of --path and --rpc");
      const spec = create(LoadTestSpecSchema, {
        target: o.path !== undefined ? { case: "http", value: { method: o.method, path: o.path } } : { case: "rpc", value: { method: o.rpc! } },
        concurrency: Math.round(o.concurrency),
        requestsPerSecond: o.rps,
        duration: durationFromMs(o.duration),
      });
      const { loadTest } = await ctx.loadTests.startLoadTest({ spec, force: o.force ?? false });
      if (!loadTest) return;
      let last = loadTest;
      for await (const update of ctx.loadTests.watchLoadTest({ id: loadTest.id }, { timeoutMs: 0 })) {
        if (!update.loadTest) continue;
        last = update.loadTest;
        if (!ctx.out.json && ctx.out.color) process.stdout.write(`\r${progressBar(last)} sent ${last.progress?.sent ?? 0n} failed ${last.progress?.failed ?? 0n}   `);
      }
      if (ctx.out.json) return ctx.out.data(last);
      if (ctx.out.color) ctx.out.line("");
      const p = last.progress;
      ctx.out.table(
        ["state", "sent", "ok", "failed", "rate", "p50", "p95", "p99", "max"],
        [[
          fmt.enumName(LoadTestStateSchema.value[last.state]?.name, "LOAD_TEST_STATE"),
          String(p?.sent ?? 0n),
          String(p?.succeeded ?? 0n),
          String(p?.failed ?? 0n),
          `${(p?.achievedRate ?? 0).toFixed(1)}/s`,
          fmt.ms(p?.latencyP50),
          fmt.ms(p?.latencyP95),
          fmt.ms(p?.latencyP99),
          fmt.ms(p?.latencyMax),
        ]],
      );
    });
}
