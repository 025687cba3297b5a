import { describe, expect, it } from "vitest";
import { decodeMultiSegment, decodeQueryComponent, decodeSingleSegment } from "./percent-decode.ts";

describe("percent-decoding (google/api/http.proto)", () => {
  it.each([
    ["plain", "plain"],
    ["a%2Fb", "a/b"],
    ["a%2fb", "a/b"],
    ["caf%C3%A9", "café"],
    ["a%20b+c", "a b+c"],
    ["%25", "%"],
    ["%3A%40", ":@"],
  ])("single segment %s → %s: everything decoded", (raw, decoded) => {
    expect(decodeSingleSegment(raw)).toBe(decoded);
  });

  it.each([
    ["shelves/1/books/2", "shelves/1/books/2"],
    ["a%2Fb/c", "a%2Fb/c"],
    ["a%2fb/c", "a%2fb/c"],
    ["x%20y/caf%C3%A9", "x y/café"],
    ["%252F", "%2F"],
    ["%3F%23", "?#"],
  ])("multi segment %s → %s: %2F stays encoded", (raw, decoded) => {
    expect(decodeMultiSegment(raw)).toBe(decoded);
  });

  it.each(["%", "%zz", "%2", "%FF", "%C3", "%ED%A0%80"])("rejects %j", (raw) => {
    expect(decodeSingleSegment(raw)).toBeUndefined();
    expect(decodeMultiSegment(raw)).toBeUndefined();
    expect(decodeQueryComponent(raw)).toBeUndefined();
  });

  it.each([
    ["a+b", "a b"],
    ["a%2Bb", "a+b"],
    ["x%3Dy%26z", "x=y&z"],
  ])("query component %s → %s", (raw, decoded) => {
    expect(decodeQueryComponent(raw)).toBe(decoded);
  });
});
