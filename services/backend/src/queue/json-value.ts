import type { ListValue, Struct, Value } from "@bufbuild/protobuf/wkt";

/**
 * google.protobuf.Value from parsed JSON and back, written out rather than through reflection
 * (fromJson/toJson of @bufbuild/protobuf), because every message of a lease or batch goes through them.
 * The results equal those of `fromJson(ValueSchema, …)` and `toJson(ValueSchema, …)`.
 */
export function valueFromJson(json: unknown): Value {
  switch (typeof json) {
    case "number":
      return { $typeName: "google.protobuf.Value", kind: { case: "numberValue", value: json } };
    case "string":
      return { $typeName: "google.protobuf.Value", kind: { case: "stringValue", value: json } };
    case "boolean":
      return { $typeName: "google.protobuf.Value", kind: { case: "boolValue", value: json } };
    case "object": {
      if (json === null) return { $typeName: "google.protobuf.Value", kind: { case: "nullValue", value: 0 } };
      if (Array.isArray(json)) {
        const list: ListValue = { $typeName: "google.protobuf.ListValue", values: json.map(valueFromJson) };
        return { $typeName: "google.protobuf.Value", kind: { case: "listValue", value: list } };
      }
      const fields: Record<string, Value> = {};
      for (const [key, v] of Object.entries(json)) fields[key] = valueFromJson(v);
      const struct: Struct = { $typeName: "google.protobuf.Struct", fields };
      return { $typeName: "google.protobuf.Value", kind: { case: "structValue", value: struct } };
    }
    default:
      throw new TypeError(`not a JSON value: ${typeof json}`);
  }
}

/** The JSON of a Value; throws on a non-finite number or an unset kind inside a list or struct. */
export function valueToJson(value: Value): unknown {
  const kind = value.kind;
  switch (kind.case) {
    case "numberValue":
      if (!Number.isFinite(kind.value)) throw new RangeError("a number is not finite");
      return kind.value;
    case "stringValue":
    case "boolValue":
      return kind.value;
    case "nullValue":
      return null;
    case "listValue":
      return kind.value.values.map(valueToJson);
    case "structValue": {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(kind.value.fields)) out[key] = valueToJson(v);
      return out;
    }
    default:
      throw new TypeError("a value has no kind");
  }
}
