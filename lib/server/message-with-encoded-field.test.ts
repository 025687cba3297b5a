import { clone, create, equals, toBinary, toJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GetItemResponseSchema, ItemSchema } from "../../gen/mesh/data/v1/data_pb.ts";
import { binaryEncodingOf, messageWithEncodedField } from "./message-with-encoded-field.ts";

const item = create(ItemSchema, { id: "a1", name: "item a1", version: 3n, value: { kind: { case: "stringValue", value: "x" } } });
const itemBytes = toBinary(ItemSchema, item);

describe("messageWithEncodedField", () => {
  it.each([true, false])("encodes byte for byte as toBinary does (cached: %s)", (cached) => {
    const message = messageWithEncodedField(GetItemResponseSchema, { cached }, "item", itemBytes);
    expect(binaryEncodingOf(message)).toEqual(toBinary(GetItemResponseSchema, create(GetItemResponseSchema, { item, cached })));
  });

  it("decodes the field for whoever reads it, and then no longer vouches for the bytes", () => {
    const message = messageWithEncodedField(GetItemResponseSchema, { cached: true }, "item", itemBytes);
    expect(toJson(GetItemResponseSchema, message)).toEqual({ item: { id: "a1", name: "item a1", value: "x", version: "3" }, cached: true });
    expect(equals(GetItemResponseSchema, message, create(GetItemResponseSchema, { item, cached: true }))).toBe(true);
    expect(clone(GetItemResponseSchema, message).item?.name).toBe("item a1");
    expect(binaryEncodingOf(message)).toBeUndefined();
  });

  it("no longer vouches for the bytes once another field or the field itself was set", () => {
    const changed = messageWithEncodedField(GetItemResponseSchema, { cached: true }, "item", itemBytes);
    changed.cached = false;
    expect(binaryEncodingOf(changed)).toBeUndefined();
    const replaced = messageWithEncodedField(GetItemResponseSchema, { cached: true }, "item", itemBytes);
    replaced.item = create(ItemSchema, { id: "b2" });
    expect(binaryEncodingOf(replaced)).toBeUndefined();
    expect(toBinary(GetItemResponseSchema, replaced)).toEqual(toBinary(GetItemResponseSchema, create(GetItemResponseSchema, { item: { id: "b2" }, cached: true })));
  });

  it("is a message to create, which returns it as it is", () => {
    const message = messageWithEncodedField(GetItemResponseSchema, { cached: true }, "item", itemBytes);
    expect(create(GetItemResponseSchema, message)).toBe(message);
    expect(binaryEncodingOf(create(GetItemResponseSchema, { item, cached: true }))).toBeUndefined();
  });
});
