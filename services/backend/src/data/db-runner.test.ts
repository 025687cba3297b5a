import { describe, expect, it } from "vitest";
import { sessionTimeoutMs } from "./db-runner.ts";

describe("sessionTimeoutMs", () => {
  it.each([
    [5000, 5000],
    [4999, 4990],
    [4991, 4990],
    [1500, 1500],
    [1099, 1090],
    [999, 999],
    [37, 37],
    [1, 1],
    [12_345, 12_300],
    [600_000, 600_000],
  ])("%i ms remaining: %i ms", (remaining, timeout) => {
    expect(sessionTimeoutMs(remaining)).toBe(timeout);
  });

  it("is never longer than what remains, and at most 1 % shorter", () => {
    for (let ms = 1; ms <= 100_000; ms += 7) {
      const timeout = sessionTimeoutMs(ms);
      expect(timeout).toBeLessThanOrEqual(ms);
      expect(timeout).toBeGreaterThan(ms * 0.99 - 1);
    }
  });
});
