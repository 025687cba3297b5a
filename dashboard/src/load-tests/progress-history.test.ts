import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { LoadTestSchema } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import { appendProgress, emptyHistory } from "./progress-history.ts";

const at = (id: string, elapsedMs: number, rate: number) =>
  create(LoadTestSchema, {
    id,
    startTime: timestampFromMs(10_000),
    progress: { sent: 10n, failed: 1n, achievedRate: rate, elapsed: durationFromMs(elapsedMs), latencyP99: durationFromMs(7) },
  });

describe("appendProgress", () => {
  it("adds a point per new message at start plus elapsed", () => {
    let h = appendProgress(emptyHistory("a"), at("a", 1000, 5));
    h = appendProgress(h, at("a", 2000, 6));
    expect(h.timestampsMs).toEqual([11_000, 12_000]);
    expect(h.throughput).toEqual([5, 6]);
    expect(h.p99Ms).toEqual([7, 7]);
    expect(h.errorRate).toEqual([10, 10]);
  });

  it("skips the empty figures of the start", () => {
    const start = at("a", 0, 0);
    start.progress!.sent = 0n;
    expect(appendProgress(emptyHistory("a"), start).timestampsMs).toEqual([]);
  });

  it("ignores a repeat of a point it has, as after a reconnect", () => {
    const h = appendProgress(appendProgress(emptyHistory("a"), at("a", 2000, 6)), at("a", 2000, 6));
    expect(h.timestampsMs).toEqual([12_000]);
  });

  it("starts over for another test and keeps the newest points", () => {
    let h = appendProgress(emptyHistory("a"), at("a", 1000, 5));
    h = appendProgress(h, at("b", 1000, 9));
    expect(h.testId).toBe("b");
    expect(h.throughput).toEqual([9]);
    for (let i = 2; i <= 5; i++) h = appendProgress(h, at("b", i * 1000, i), 3);
    expect(h.throughput).toEqual([3, 4, 5]);
  });
});
