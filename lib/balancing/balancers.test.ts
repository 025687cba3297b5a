import { describe, expect, it } from "vitest";
import { chooseInstance, type BalancingAlgorithm } from "./choose-instance.ts";
import { pickLeastRequest, twoChoices } from "./least-request.ts";
import { decayedMs, initialEwma, observeLatency, peakEwmaCost, pickPeakEwma, type EwmaLoad } from "./peak-ewma.ts";
import { pickRoundRobin } from "./round-robin.ts";

/** A random source that returns `values` in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

/** A seeded uniform source (mulberry32), for distributions. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const load = (inFlight: number, valueMs = 1, atMs = 0): EwmaLoad => ({ inFlight, ewma: { valueMs, atMs } });

describe("pickRoundRobin", () => {
  it.each([
    [1, 0, 0],
    [3, 0, 0],
    [3, 1, 1],
    [3, 2, 2],
    [3, 3, 0],
    [3, 7, 1],
    [2, -1, 1],
  ])("of %i candidates at cursor %i picks %i", (count, cursor, expected) => {
    expect(pickRoundRobin(count, cursor)).toBe(expected);
  });

  it("refuses an empty candidate list", () => {
    expect(() => pickRoundRobin(0, 0)).toThrow(RangeError);
  });
});

describe("twoChoices", () => {
  it.each([
    [1, [0.9, 0.9], [0, 0]],
    [2, [0, 0], [0, 1]],
    [2, [0.99, 0], [1, 0]],
    [3, [0, 0], [0, 1]],
    [3, [0.5, 0.5], [1, 2]],
    [3, [0.99, 0.99], [2, 1]],
    [4, [0.3, 0.3], [1, 0]],
  ] as const)("of %i candidates with draws %j gives %j: two distinct indexes", (count, draws, expected) => {
    expect(twoChoices(count, sequence(...draws))).toEqual(expected);
  });
});

describe("pickLeastRequest (P2C)", () => {
  it.each([
    ["the drawn one with fewer in flight", [3, 1, 5], [0, 0], 1],
    ["the first drawn on a tie", [2, 2, 2], [0.7, 0], 2],
    ["never an undrawn one, even if it is idle", [4, 5, 0], [0, 0], 0],
    ["the only candidate", [9], [0.5, 0.5], 0],
  ] as const)("picks %s", (_label, inFlight, draws, expected) => {
    expect(pickLeastRequest(inFlight.map((n) => ({ inFlight: n })), sequence(...draws))).toBe(expected);
  });
});

describe("peak EWMA", () => {
  it.each([
    ["a higher sample replaces the estimate at once (the peak)", { valueMs: 10, atMs: 0 }, 50, 100, { valueMs: 50, atMs: 100 }],
    ["a lower sample right away barely moves it", { valueMs: 10, atMs: 1000 }, 2, 1000, { valueMs: 10, atMs: 1000 }],
    ["a lower sample one decay period later weighs 1 - 1/e", { valueMs: 10, atMs: 0 }, 0, 10_000, { valueMs: 10 / Math.E, atMs: 10_000 }],
  ])("%s", (_label, estimate, sample, now, expected) => {
    const next = observeLatency(estimate, sample, now);
    expect(next.atMs).toBe(expected.atMs);
    expect(next.valueMs).toBeCloseTo(expected.valueMs, 9);
  });

  it.each([
    [{ valueMs: 100, atMs: 0 }, 0, 100],
    [{ valueMs: 100, atMs: 0 }, 10_000, 100 / Math.E],
    [{ valueMs: 100, atMs: 5000 }, 1000, 100],
  ])("decays %j to %i ms as %f", (estimate, now, expected) => {
    expect(decayedMs(estimate, now)).toBeCloseTo(expected, 9);
  });

  it.each([
    [load(0, 10), 10],
    [load(3, 10), 40],
    [load(1, 0.5), 1],
  ])("costs %j at %f", (candidate, expected) => {
    expect(peakEwmaCost(candidate, 0)).toBeCloseTo(expected, 9);
  });

  it.each([
    ["the faster of the two drawn", [load(0, 20), load(0, 5), load(0, 1)], [0, 0], 1],
    ["the less loaded when latency is equal", [load(4, 5), load(1, 5)], [0, 0], 1],
    ["a slow idle instance over a fast busy one when the cost says so", [load(0, 30), load(9, 5)], [0, 0], 0],
    ["the first drawn on a tie", [load(1, 5), load(1, 5)], [0.9, 0], 1],
  ] as const)("picks %s", (_label, candidates, draws, expected) => {
    expect(pickPeakEwma(candidates, 0, sequence(...draws))).toBe(expected);
  });

  it("starts a new instance low but above zero", () => {
    expect(initialEwma(5).valueMs).toBeGreaterThan(0);
  });
});

describe("chooseInstance distributions (10,000 picks, seeded)", () => {
  function distribution(algorithm: BalancingAlgorithm, candidates: EwmaLoad[]): number[] {
    const counts = candidates.map(() => 0);
    const random = seeded(42);
    for (let cursor = 0; cursor < 10_000; cursor++) counts[chooseInstance({ algorithm, candidates, cursor, nowMs: 0, random })]!++;
    return counts;
  }

  it("round-robin spreads exactly evenly", () => {
    expect(distribution("round_robin", [load(0), load(9), load(0), load(0)])).toEqual([2500, 2500, 2500, 2500]);
  });

  it("least-request never sends to the busiest of three while another is drawn with it", () => {
    const [a, b, busy] = distribution("least_request", [load(1), load(1), load(50)]);
    expect(busy).toBe(0);
    expect(Math.abs(a! - b!)).toBeLessThan(1000);
  });

  it("peak-EWMA sends nothing to an instance ten times slower when the others are idle", () => {
    const [fast1, fast2, slow] = distribution("peak_ewma", [load(0, 5), load(0, 5), load(0, 50)]);
    expect(slow).toBe(0);
    expect(fast1! + fast2!).toBe(10_000);
  });
});
