import { fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { valueFromJson, valueToJson } from "./json-value.ts";

describe("json-value", () => {
  it.each([
    ["a number", 42.5],
    ["a string", "ünïcödé"],
    ["true", true],
    ["null", null],
    ["an empty object", {}],
    ["an empty list", []],
    ["nested", { a: [1, "x", null, { b: false }], c: { d: [] } }],
  ])("matches @bufbuild/protobuf for %s", (_, json) => {
    const ours = valueFromJson(json);
    const theirs = fromJson(ValueSchema, json as never);
    expect(toBinary(ValueSchema, ours)).toEqual(toBinary(ValueSchema, theirs));
    expect(valueToJson(theirs)).toEqual(toJson(ValueSchema, theirs));
  });

  it.each<[string, Value]>([
    ["NaN", { $typeName: "google.protobuf.Value", kind: { case: "numberValue", value: Number.NaN } }],
    ["Infinity in a list", valueFromJson([1, 2]) as Value],
    ["no kind", { $typeName: "google.protobuf.Value", kind: { case: undefined } }],
  ])("refuses %s", (name, value) => {
    if (name === "Infinity in a list" && value.kind.case === "listValue") value.kind.value.values[1]!.kind = { case: "numberValue", value: Infinity };
    expect(() => valueToJson(value)).toThrow();
  });
});
