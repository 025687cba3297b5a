import { describe, expect, it } from "vitest";
import { decodeCacheEntry, encodeCacheEntry, type CacheEntry } from "./cache-entry.ts";

describe("cache entries", () => {
  it.each<[string, CacheEntry, string]>([
    ["a value", { kind: "value", version: 7n, payload: Buffer.from([0x0a, 0x3a, 0x00]) }, "7:V\n:\u0000"],
    ["a cached NotFound", { kind: "missing", version: 0n }, "0:N"],
    ["a tombstone", { kind: "tombstone", version: 9007199254740993n }, "9007199254740993:T"],
  ])("encodes %s with its version first and decodes it back", (_label, entry, text) => {
    const encoded = encodeCacheEntry(entry);
    expect(encoded.toString("latin1")).toBe(text);
    const decoded = decodeCacheEntry(encoded);
    expect(decoded).toEqual(entry.kind === "value" ? { ...entry, payload: expect.anything() } : entry);
    if (decoded?.kind === "value" && entry.kind === "value") expect(Buffer.from(decoded.payload)).toEqual(Buffer.from(entry.payload));
  });

  it.each(["", ":V", "12", "12:", "x1:V", "1:Q", "123456789012345678901:V"])("reads %j as no entry", (text) => {
    expect(decodeCacheEntry(Buffer.from(text, "latin1"))).toBeUndefined();
  });
});
