import { describe, expect, it } from "vitest";
import { durationMs, formatMs, formatPercent, formatRate, formatRelative, timestampMs } from "./format.ts";

describe("format", () => {
  it.each([
    [0, "0 ms"],
    [0.4242, "0.42 ms"],
    [12.34, "12.3 ms"],
    [420.4, "420 ms"],
    [1250, "1.25 s"],
  ])("formatMs(%s) is %s", (ms, text) => expect(formatMs(ms)).toBe(text));

  it.each([
    [0, "0 %"],
    [1, "100 %"],
    [0.995, "99.5 %"],
    [0.0123, "1.23 %"],
    [Number.NaN, "–"],
  ])("formatPercent(%s) is %s", (f, text) => expect(formatPercent(f)).toBe(text));

  it.each([
    [0, "0"],
    [3.44, "3.4"],
    [1250.4, "1,250"],
  ])("formatRate(%s) is %s", (v, text) => expect(formatRate(v)).toBe(text));

  it.each([
    [1000, "just now"],
    [12_000, "12 s ago"],
    [180_000, "3 min ago"],
    [7_200_000, "2 h ago"],
    [4 * 86_400_000, "4 d ago"],
    [-60_000, "in 1 min"],
  ])("formatRelative %s ms before now is %s", (ago, text) => expect(formatRelative(1_000_000_000 - ago, 1_000_000_000)).toBe(text));

  it("reads protobuf durations and timestamps", () => {
    expect(durationMs({ seconds: 2n, nanos: 500_000_000 } as never)).toBe(2500);
    expect(durationMs(undefined)).toBe(0);
    expect(timestampMs({ seconds: 10n, nanos: 1_500_000 } as never)).toBe(10_001);
    expect(timestampMs(undefined)).toBeUndefined();
  });
});
