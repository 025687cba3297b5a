import { describe, expect, it } from "vitest";
import { newNoncePrefix, newStreamId, parseLeaseToken, streamIdOfToken } from "./lease-token.ts";

describe("lease tokens", () => {
  it.each<[string, { id: string; nonce: string } | undefined]>([
    ["l0123abcd_1.message-1", { nonce: "l0123abcd_1", id: "message-1" }],
    ["l0123abcd_17.a.b.c", { nonce: "l0123abcd_17", id: "a.b.c" }],
    ["c0123456789ab0123abcd_3.x", { nonce: "c0123456789ab0123abcd_3", id: "x" }],
    ["l0123abcd_1.", undefined],
    [".id", undefined],
    ["id-without-nonce", undefined],
    ["x0123abcd_1.id", undefined],
    ["l0123abcd.id", undefined],
    ["L0123ABCD_1.id", undefined],
  ])("%s", (token, expected) => {
    expect(parseLeaseToken(token)).toEqual(expected);
  });

  it("marks the tokens of Consume streams with their stream", () => {
    const stream = newStreamId();
    const token = `${newNoncePrefix(stream)}4.some-id`;
    expect(parseLeaseToken(token)?.id).toBe("some-id");
    expect(streamIdOfToken(token)).toBe(stream);
    expect(streamIdOfToken(`${newNoncePrefix()}4.some-id`)).toBeUndefined();
  });
});
