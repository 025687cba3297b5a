import type { DescService } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { LoadTestService, LoadTestState, type LoadTest } from "../../../../gen/mesh/control/v1/load_test_pb.ts";
import { invalidArgument } from "../../../../lib/errors/connect-errors.ts";
import type { LoadTestRunner } from "./load-test-runner.ts";
import { validateLoadSpec } from "./validate-load-spec.ts";

function parsePageToken(token: string): { startTime: Date; id: string } | undefined {
  if (token === "") return undefined;
  const [time, id] = Buffer.from(token, "base64url").toString("utf8").split("|");
  const startTime = new Date(time ?? "");
  if (Number.isNaN(startTime.getTime()) || !/^[0-9a-f-]{36}$/.test(id ?? "")) {
    throw invalidArgument("page_token", "is not a token from a previous ListLoadTests response");
  }
  return { startTime, id: id! };
}

const pageToken = (test: LoadTest) => Buffer.from(`${timestampDate(test.startTime!).toISOString()}|${test.id}`, "utf8").toString("base64url");

const idPattern = /^[0-9a-f-]{36}$/i;

/** mesh.control.v1.LoadTestService over the runner. */
export function createLoadTestService(deps: { runner: LoadTestRunner; meshServices: readonly DescService[] }): ServiceImpl<typeof LoadTestService> {
  const { runner } = deps;
  const checkId = (id: string) => {
    if (!idPattern.test(id)) throw invalidArgument("id", "must be a load test id (a UUID)");
  };
  return {
    async startLoadTest(req) {
      validateLoadSpec(req.spec, deps.meshServices);
      return { loadTest: await runner.start(req.spec, req.force) };
    },
    async stopLoadTest(req) {
      checkId(req.id);
      return { loadTest: await runner.stop(req.id) };
    },
    async getLoadTest(req) {
      checkId(req.id);
      return { loadTest: await runner.get(req.id) };
    },
    async listLoadTests(req) {
      if (req.pageSize < 0 || req.pageSize > 1000) throw invalidArgument("page_size", "must be between 0 and 1000");
      const limit = req.pageSize === 0 ? 50 : req.pageSize;
      const rows = await runner.list(limit + 1, parsePageToken(req.pageToken));
      const page = rows.slice(0, limit);
      return { loadTests: page, nextPageToken: rows.length > limit ? pageToken(page.at(-1)!) : "" };
    },
    async *watchLoadTest(req, ctx) {
      checkId(req.id);
      const updates: LoadTest[] = [];
      let wake: (() => void) | undefined;
      // Subscribed before the first read, so an end between the two is not missed.
      const unsubscribe = runner.watch(req.id, (test) => {
        updates.push({ ...test });
        wake?.();
      });
      const onAbort = () => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        const first = await runner.get(req.id);
        yield { loadTest: first };
        if (first.state !== LoadTestState.RUNNING) return;
        while (!ctx.signal.aborted) {
          const next = updates.shift();
          if (!next) {
            await new Promise<void>((r) => (wake = r));
            continue;
          }
          yield { loadTest: next };
          if (next.state !== LoadTestState.RUNNING) return;
        }
      } finally {
        unsubscribe();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  };
}
