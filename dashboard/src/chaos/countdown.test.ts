import { describe, expect, it } from "vitest";
import { formatCountdown } from "./countdown.ts";

describe("formatCountdown", () => {
  it.each([
    [0, "ended"],
    [-5000, "ended"],
    [1, "1s"],
    [999, "1s"],
    [1000, "1s"],
    [1001, "2s"],
    [59_000, "59s"],
    [60_000, "1m 00s"],
    [65_400, "1m 06s"],
    [3_600_000, "1h 00m 00s"],
    [3_723_000, "1h 02m 03s"],
    [86_400_000, "24h 00m 00s"],
  ])("%d ms left → %s", (left, text) => {
    expect(formatCountdown(1_000_000 + left, 1_000_000)).toBe(text);
  });
});
