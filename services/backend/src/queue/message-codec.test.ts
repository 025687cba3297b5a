import { describe, expect, it } from "vitest";
import { decodeBody, decodeState, encodeBody, encodeState } from "./message-codec.ts";

describe("message codec", () => {
  it.each([
    ["plain", "t", {}, '{"a":1}'],
    ["no payload", "t", {}, ""],
    ["separators inside", "a|b", { traceparent: "00-x|y" }, '"|1|2|"'],
    ["unicode", "typ€", { tracestate: "k=v" }, '{"s":"ünïcödé 🎉"}'],
  ])("body round-trips: %s", (_, type, traceContext, payloadJson) => {
    const body = encodeBody(1_700_000_000_123, type, traceContext, payloadJson);
    expect(body.startsWith("1700000000123|")).toBe(true);
    expect(decodeBody(body)).toEqual({ enqueueMs: 1_700_000_000_123, type, traceContext, payloadJson });
  });

  it("state round-trips", () => {
    const state = { priority: 3 as const, maxAttempts: 5, attempts: 2, availableMs: 1234, explicitId: true, lease: "l0123abcd_1" };
    expect(encodeState(state)).toBe("3|5|2|1234|1|l0123abcd_1|");
    expect(decodeState(encodeState(state))).toEqual(state);
  });
});
