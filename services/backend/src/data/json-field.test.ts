import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { canonicalJson, objectToJsonText, valueToJsonText } from "./json-field.ts";

const nest = (levels: number): JsonValue => (levels === 0 ? "leaf" : { a: nest(levels - 1) });

describe("JSON fields", () => {
  it.each<[string, JsonValue]>([
    ["null", null],
    ["a number", 1.5],
    ["a string with quotes", `'"; DROP TABLE items;--`],
    ["a list", [1, "two", null, false]],
    ["an object", { a: { b: [1] } }],
    ["31 levels deep", nest(31)],
  ])("stores %s as its JSON text", (_label, json) => {
    expect(valueToJsonText(fromJson(ValueSchema, json), 10_000)).toEqual({ ok: true, json: JSON.stringify(json) });
  });

  it("leaves an unset value unset (SQL NULL), unlike a JSON null", () => {
    expect(valueToJsonText(undefined, 10)).toBeUndefined();
  });

  it.each([
    ["NaN", create(ValueSchema, { kind: { case: "numberValue", value: Number.NaN } }), "must hold a JSON value"],
    ["Infinity", create(ValueSchema, { kind: { case: "numberValue", value: Number.POSITIVE_INFINITY } }), "must hold a JSON value"],
    ["no kind", create(ValueSchema, {}), "must hold a JSON value"],
    ["U+0000 in a string", fromJson(ValueSchema, ["a\u0000"]), "U+0000"],
    ["U+0000 in a key", fromJson(ValueSchema, { "k\u0000": 1 }), "U+0000"],
    ["33 levels", fromJson(ValueSchema, nest(33)), "deeper than 32"],
    ["too many bytes", fromJson(ValueSchema, "é".repeat(60)), "bytes of JSON; the limit is 100"],
  ])("refuses %s", (_label, value, reason) => {
    const result = valueToJsonText(value, 100);
    expect(result).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });

  it("defaults metadata to {} and checks its numbers", () => {
    expect(objectToJsonText(undefined, 10)).toEqual({ ok: true, json: "{}" });
    expect(objectToJsonText({ n: Number.NaN }, 100)).toMatchObject({ ok: false });
  });

  it("gives equal canonical text to equal values whatever their key order", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 1, e: 2 }], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, { e: 2, f: 1 }] }, b: 1 }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: "1" }));
  });
});
