import { describe, expect, it } from "vitest";
import { randomAt, retryDelayMs, type RetryPolicy } from "./backoff.ts";

const policy: RetryPolicy = { baseMs: 1000, capMs: 60_000, jitter: 0.5 };

describe("retryDelayMs", () => {
  it.each([
    // attempt, r, delay: exp = min(60 s, 1 s * 2^(attempt-1)); delay = exp * (0.5 + 0.5 r)
    [1, 0, 500],
    [1, 0.5, 750],
    [1, 0.999, 999],
    [2, 0, 1000],
    [3, 0, 2000],
    [4, 0.5, 6000],
    [6, 0, 16_000],
    [7, 0, 30_000],
    [7, 0.999, 59_970],
    [8, 0, 30_000], // capped: 128 s > 60 s
    [30, 0.5, 45_000],
  ])("attempt %i with r=%f waits %i ms", (attempt, r, delay) => {
    expect(retryDelayMs(attempt, policy, r)).toBe(delay);
  });

  it.each([
    [0, 1000],
    [1, 1000],
  ])("jitter %f: attempt 1 waits between %i and the base", (jitter, base) => {
    const p = { ...policy, jitter };
    expect(retryDelayMs(1, p, 0)).toBe(jitter === 0 ? base : 0);
    expect(retryDelayMs(1, p, 0.9999)).toBe(jitter === 0 ? base : 999);
  });
});

describe("randomAt", () => {
  it.each([
    [0, 1, 0.6180339887498949],
    [0, 2, 0.2360679774997898],
    [0.5, 1, 0.1180339887498949],
  ])("seed %f, index %i is %f", (seed, i, value) => {
    expect(randomAt(seed, i)).toBeCloseTo(value, 12);
  });

  it("stays in [0, 1) and spreads over it", () => {
    const values = Array.from({ length: 1000 }, (_, i) => randomAt(0.123, i + 1));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const tenths = new Set(values.map((v) => Math.floor(v * 10)));
    expect(tenths.size).toBe(10);
  });
});
