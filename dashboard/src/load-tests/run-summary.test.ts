import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { LoadTestSchema, LoadTestState } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import { compareRuns, describeLoadTarget, formatDelta, summarizeRun, type RunSummary } from "./run-summary.ts";

describe("summarizeRun", () => {
  it("flattens a load test's figures to numbers", () => {
    const test = create(LoadTestSchema, {
      id: "t1",
      state: LoadTestState.COMPLETED,
      spec: { target: { case: "http", value: { method: "get", path: "/v1/items" } }, name: "smoke" },
      startTime: timestampFromMs(1_000_000),
      progress: {
        sent: 200n,
        succeeded: 190n,
        failed: 10n,
        achievedRate: 49.5,
        latencyP50: durationFromMs(2.5),
        latencyP95: durationFromMs(10),
        latencyP99: durationFromMs(20),
        latencyMax: durationFromMs(35),
        elapsed: durationFromMs(4000),
      },
    });
    expect(summarizeRun(test)).toEqual({
      id: "t1",
      name: "smoke",
      target: "GET /v1/items",
      state: LoadTestState.COMPLETED,
      startMs: 1_000_000,
      elapsedMs: 4000,
      sent: 200,
      succeeded: 190,
      failed: 10,
      errorRate: 0.05,
      throughput: 49.5,
      p50Ms: 2.5,
      p95Ms: 10,
      p99Ms: 20,
      maxMs: 35,
    });
  });

  it("reads a test with no progress yet as zeros", () => {
    const run = summarizeRun(create(LoadTestSchema, { id: "t2", spec: { target: { case: "rpc", value: { method: "a.B/C" } } } }));
    expect(run).toMatchObject({ target: "a.B/C", sent: 0, errorRate: 0, throughput: 0, p99Ms: 0, startMs: undefined });
  });
});

describe("describeLoadTarget", () => {
  it("says when there is no target", () => {
    expect(describeLoadTarget(undefined)).toBe("no target");
  });
});

const run = (figures: Partial<RunSummary>): RunSummary => ({
  id: "x",
  name: "",
  target: "",
  state: LoadTestState.COMPLETED,
  startMs: 0,
  elapsedMs: 0,
  sent: 100,
  succeeded: 100,
  failed: 0,
  errorRate: 0,
  throughput: 100,
  p50Ms: 10,
  p95Ms: 20,
  p99Ms: 40,
  maxMs: 50,
  ...figures,
});

describe("compareRuns", () => {
  it("judges each figure against the first run in its own direction", () => {
    const [base, second] = compareRuns([run({}), run({ throughput: 150, p50Ms: 10.05, p95Ms: 30, p99Ms: 20, errorRate: 0.02 })]);
    expect(Object.values(base!).every((d) => d.verdict === "same")).toBe(true);
    expect(second!.throughput).toEqual({ relative: 0.5, verdict: "better" });
    expect(second!.p50Ms.verdict).toBe("same");
    expect(second!.p95Ms).toEqual({ relative: 0.5, verdict: "worse" });
    expect(second!.p99Ms).toEqual({ relative: -0.5, verdict: "better" });
    expect(second!.errorRate).toEqual({ relative: undefined, verdict: "worse" });
  });

  it("compares nothing to nothing as the same", () => {
    expect(compareRuns([run({ throughput: 0 }), run({ throughput: 0 })])[1]!.throughput).toEqual({ relative: 0, verdict: "same" });
  });
});

describe("formatDelta", () => {
  it.each([
    [{ relative: 0.5, verdict: "better" }, "+50 %"],
    [{ relative: -0.034, verdict: "better" }, "−3.4 %"],
    [{ relative: 0, verdict: "same" }, "±0 %"],
    [{ relative: undefined, verdict: "worse" }, "new"],
  ] as const)("%o → %s", (delta, text) => {
    expect(formatDelta(delta)).toBe(text);
  });
});
