import { describe, expect, it } from "vitest";
import { durationFromMillis } from "./duration-from-millis.ts";

describe("durationFromMillis", () => {
  it.each([
    [0, 0n, 0],
    [1.5, 0n, 1_500_000],
    [1745.9210000001804, 1n, 745_921_000],
    [999.9999999, 1n, 0],
    [60_000, 60n, 0],
    [-5, 0n, 0],
  ])("%f ms -> %is %i ns", (ms, seconds, nanos) => {
    const d = durationFromMillis(ms);
    expect(d.seconds).toBe(seconds);
    expect(d.nanos).toBe(nanos);
    expect(Number.isInteger(d.nanos)).toBe(true);
  });
});
