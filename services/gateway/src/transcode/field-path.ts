import type { DescField, DescMessage } from "@bufbuild/protobuf";

/**
 * Well-known types whose proto3 JSON form is a scalar, so they can be written in a path or a query string
 * (`?expire_time=2024-01-01T00:00:00Z`, `?timeout=1.5s`, `?mask=a,b`, `?limit=3` for a wrapper).
 */
export const scalarWellKnownTypes: ReadonlySet<string> = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
]);

/** True for a singular field that one string can set: a scalar, an enum, or a scalar well-known type. */
export function isScalarLike(field: DescField): boolean {
  if (field.fieldKind === "scalar" || field.fieldKind === "enum") return true;
  return field.fieldKind === "message" && scalarWellKnownTypes.has(field.message.typeName);
}

/** True for a list of scalars or enums, which repeated query keys can fill. */
export function isScalarList(field: DescField): boolean {
  return field.fieldKind === "list" && (field.listKind === "scalar" || field.listKind === "enum");
}

const byAnyName = new WeakMap<DescMessage, Map<string, DescField>>();

/** A field by its proto name (`page_size`) or its JSON name (`pageSize`). */
export function fieldByAnyName(message: DescMessage, name: string): DescField | undefined {
  let names = byAnyName.get(message);
  if (!names) {
    names = new Map();
    for (const field of message.fields) names.set(field.jsonName, field);
    // Proto names win over a JSON name that happens to be spelled the same as another field's proto name.
    for (const field of message.fields) names.set(field.name, field);
    byAnyName.set(message, names);
  }
  return names.get(name);
}

/**
 * Resolves a dotted field path (`item.id`) in a message: every element but the last must be a singular
 * message field. Returns the fields, or a reason it does not resolve.
 */
export function resolveFieldPath(
  message: DescMessage,
  path: readonly string[],
  names: "proto" | "any",
): DescField[] | string {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const [i, name] of path.entries()) {
    if (!current) return `${path.slice(0, i).join(".")} is not a message`;
    const field: DescField | undefined =
      names === "proto" ? current.fields.find((f) => f.name === name) : fieldByAnyName(current, name);
    if (!field) return `${current.typeName} has no field ${JSON.stringify(name)}`;
    fields.push(field);
    current = field.fieldKind === "message" ? field.message : undefined;
    if (i < path.length - 1 && field.fieldKind !== "message") {
      return `${path.slice(0, i + 1).join(".")} is ${field.fieldKind === "list" ? "repeated" : field.fieldKind === "map" ? "a map" : "not a message"}`;
    }
  }
  return fields;
}
