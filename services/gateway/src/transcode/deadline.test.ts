import { describe, expect, it } from "vitest";
import { requestedTimeoutMs, upstreamTimeoutMs } from "./deadline.ts";

describe("requestedTimeoutMs", () => {
  it.each([
    [{}, undefined],
    [{ "grpc-timeout": "2S" }, 2000],
    [{ "grpc-timeout": "1H" }, 3_600_000],
    [{ "grpc-timeout": "3M" }, 180_000],
    [{ "grpc-timeout": "250m" }, 250],
    [{ "grpc-timeout": "1500u" }, 1.5],
    [{ "grpc-timeout": "99999999n" }, 99.999999],
    [{ "connect-timeout-ms": "1200" }, 1200],
    [{ "x-server-timeout": "2.5" }, 2500],
    [{ "grpc-timeout": "5S", "connect-timeout-ms": "700", "x-server-timeout": "1" }, 700],
  ])("%j → %s ms", (headers, ms) => {
    expect(requestedTimeoutMs(headers)).toBe(ms);
  });

  it.each([
    [{ "grpc-timeout": "2s" }, "grpc-timeout"],
    [{ "grpc-timeout": "123456789S" }, "grpc-timeout"],
    [{ "grpc-timeout": "-1S" }, "grpc-timeout"],
    [{ "connect-timeout-ms": "1e3" }, "connect-timeout-ms"],
    [{ "connect-timeout-ms": "12345678901" }, "connect-timeout-ms"],
    [{ "x-server-timeout": "soon" }, "x-server-timeout"],
    [{ "x-server-timeout": "-2" }, "x-server-timeout"],
  ])("rejects %j", (headers, name) => {
    expect(() => requestedTimeoutMs(headers)).toThrow(name);
  });
});

describe("upstreamTimeoutMs", () => {
  const policy = { defaultMs: 30_000, maxMs: 60_000 };
  it.each([
    ["unary, none asked", undefined, false, 30_000],
    ["unary, asked", 5000, false, 5000],
    ["unary, asked above the cap", 3_600_000, false, 60_000],
    ["stream, none asked", undefined, true, undefined],
    ["stream, asked above the cap", 3_600_000, true, 60_000],
    ["sub-millisecond", 0.001, false, 1],
  ])("%s", (_, requested, streaming, expected) => {
    expect(upstreamTimeoutMs(requested, streaming, policy)).toBe(expected);
  });

  it("without default and cap, nothing", () => {
    expect(upstreamTimeoutMs(undefined, false, { defaultMs: 0, maxMs: 0 })).toBeUndefined();
    expect(upstreamTimeoutMs(9_999_999, false, { defaultMs: 0, maxMs: 0 })).toBe(9_999_999);
  });
});
