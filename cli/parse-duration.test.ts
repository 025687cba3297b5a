import { describe, expect, it } from "vitest";
import { parseDuration } from "./parse-duration.ts";

describe("parseDuration", () => {
  it.each([
    ["250ms", 250],
    ["30s", 30_000],
    ["1.5m", 90_000],
    ["2h", 7_200_000],
    [" 5s ", 5000],
    ["5", undefined],
    ["-5s", undefined],
    ["5 s", undefined],
    ["1d", undefined],
    ["", undefined],
  ])("%j -> %j", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});
