import { describe, expect, it } from "vitest";
import { ratesFromCounters } from "./queue-figures.ts";

describe("ratesFromCounters", () => {
  const now = 1_000_005_000; // bucket 100000, 5 s into it: the window is 65 s
  it.each<[string, Record<string, string>, number]>([
    ["nothing counted", {}, 0],
    ["the current bucket", { b2: "100000", e2: "130" }, 2],
    ["six buckets back counts", { b3: "99994", e3: "65" }, 1],
    ["seven buckets back is out of the window", { b2: "99993", e2: "650" }, 0],
    ["a future bucket (clock skew) is ignored", { b3: "100001", e3: "650" }, 0],
    ["several buckets add up", { b2: "100000", e2: "65", b1: "99999", e1: "65" }, 2],
  ])("%s", (_, fields, enqueueRate) => {
    expect(ratesFromCounters(new Map(Object.entries(fields)), now).enqueue).toBeCloseTo(enqueueRate, 10);
  });
});
