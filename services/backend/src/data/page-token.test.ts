import { describe, expect, it } from "vitest";
import { decodePageToken, encodePageToken } from "./page-token.ts";

const id = "3f2c1a9e-5b7d-4c1e-9f3a-2b8c6d4e1f07";
const scope = "items|status=any|order=name|desc=false";
const anyKey = () => true;

describe("page tokens", () => {
  it.each([
    ["a timestamp", "2026-11-05T10:00:00.123456Z"],
    ["a name with quotes and unicode", `Robert'); DROP TABLE items;-- "😀"`],
    ["an empty name", ""],
  ])("round-trips %s as an opaque base64url string", (_label, key) => {
    const token = encodePageToken({ key, id }, scope);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token, scope, anyKey)).toEqual({ key, id });
  });

  const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
  const good = JSON.parse(Buffer.from(encodePageToken({ key: "k", id }, scope), "base64url").toString()) as Record<string, unknown>;

  it.each([
    ["characters outside base64url", "abc+/="],
    ["not JSON", b64("{nope")],
    ["JSON that is not an object", b64("42")],
    ["another token version", b64({ ...good, v: 2 })],
    ["a missing key", b64({ ...good, k: undefined })],
    ["a numeric key", b64({ ...good, k: 5 })],
    ["an id that is not a UUID", b64({ ...good, i: "1 OR 1=1" })],
    ["a missing scope hash", b64({ ...good, f: undefined })],
    ["an overlong token", "a".repeat(3000)],
  ])("refuses %s", (_label, token) => {
    expect(decodePageToken(token, scope, anyKey)).toEqual({ reason: expect.stringContaining("not a page token") });
  });

  it("refuses a token whose sort key fails the order's check", () => {
    const token = encodePageToken({ key: "yesterday", id }, scope);
    expect(decodePageToken(token, scope, (key) => /^\d{4}-/.test(key))).toHaveProperty("reason");
  });

  it.each(["items|status=active|order=name|desc=false", "items|status=any|order=name|desc=true", "users|order=create_time|desc=true"])(
    "refuses a token issued for another scope (%s)",
    (other) => {
      const token = encodePageToken({ key: "k", id }, scope);
      expect(decodePageToken(token, other, anyKey)).toEqual({ reason: expect.stringContaining("different filter or order") });
    },
  );
});
