import { fromJson, ScalarType, type DescField, type JsonValue } from "@bufbuild/protobuf";
import { reflect, type ReflectList, type ReflectMessage } from "@bufbuild/protobuf/reflect";

/**
 * Sets a field from the text of path variables or query parameters, with the proto3 JSON rules for scalars:
 * numbers in decimal (64-bit ones exactly), `NaN`/`Infinity` for floats, booleans as `true`/`false`, bytes in
 * standard or URL-safe base64, enums by name or number, and the JSON string forms of Timestamp, Duration,
 * FieldMask and the wrappers. Lists get one element per value, appended. Returns a reason on bad input.
 */
export function setFieldFromText(target: ReflectMessage, field: DescField, values: readonly string[]): string | undefined {
  if (field.fieldKind === "scalar" && values.length === 1) {
    const text = values[0]!;
    // The common cases without a round trip through fromJson.
    if (field.scalar === ScalarType.STRING) {
      target.set(field, text);
      return undefined;
    }
    if (field.scalar === ScalarType.BOOL) {
      if (text !== "true" && text !== "false") return `expected true or false, got ${JSON.stringify(text)}`;
      target.set(field, text === "true");
      return undefined;
    }
  }
  const json: JsonValue[] = [];
  for (const text of values) {
    const value = jsonOfText(field, text);
    if (value === undefined) return `expected ${expectedForm(field)}, got ${JSON.stringify(text)}`;
    json.push(value);
  }
  let parsed: ReflectMessage;
  try {
    const message = fromJson(target.desc, { [field.jsonName]: field.fieldKind === "list" ? json : json[0]! });
    parsed = reflect(target.desc, message);
  } catch {
    const shown = values.length === 1 ? JSON.stringify(values[0]) : JSON.stringify(values);
    return `expected ${expectedForm(field)}, got ${shown}`;
  }
  if (field.fieldKind === "list") {
    const list = target.get(field) as ReflectList;
    for (const item of parsed.get(field) as ReflectList) list.add(item);
  } else {
    target.set(field, parsed.get(field));
  }
  return undefined;
}

/** The JSON value fromJson expects for one text, or undefined when the text cannot be one. */
function jsonOfText(field: DescField, text: string): JsonValue | undefined {
  const scalar = field.fieldKind === "scalar" || (field.fieldKind === "list" && field.listKind === "scalar") ? field.scalar : undefined;
  if (scalar === ScalarType.BOOL || (field.fieldKind === "message" && field.message.typeName === "google.protobuf.BoolValue")) {
    return text === "true" ? true : text === "false" ? false : undefined;
  }
  if (field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum")) {
    return /^-?\d{1,10}$/.test(text) ? Number(text) : text;
  }
  // Numbers stay text: proto3 JSON accepts quoted numbers for every numeric type, and text keeps int64 exact.
  return text;
}

const scalarNames: Record<ScalarType, string> = {
  [ScalarType.DOUBLE]: "a double",
  [ScalarType.FLOAT]: "a float",
  [ScalarType.INT64]: "an int64",
  [ScalarType.UINT64]: "a uint64",
  [ScalarType.INT32]: "an int32",
  [ScalarType.FIXED64]: "a fixed64",
  [ScalarType.FIXED32]: "a fixed32",
  [ScalarType.BOOL]: "true or false",
  [ScalarType.STRING]: "a string",
  [ScalarType.BYTES]: "base64 bytes",
  [ScalarType.UINT32]: "a uint32",
  [ScalarType.SFIXED32]: "an sfixed32",
  [ScalarType.SFIXED64]: "an sfixed64",
  [ScalarType.SINT32]: "an sint32",
  [ScalarType.SINT64]: "an sint64",
};

const wellKnownForms: Record<string, string> = {
  "google.protobuf.Timestamp": "an RFC 3339 timestamp such as 2024-01-31T12:00:00Z",
  "google.protobuf.Duration": "a duration in seconds such as 1.5s",
  "google.protobuf.FieldMask": "comma-separated lowerCamelCase field paths",
};

/** What a field's text must look like, for error messages. */
export function expectedForm(field: DescField): string {
  if (field.fieldKind === "scalar" || (field.fieldKind === "list" && field.listKind === "scalar")) return scalarNames[field.scalar];
  if (field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum")) {
    const names = field.enum.values.map((v) => v.name);
    const shown = names.length > 8 ? `${names.slice(0, 8).join(", ")}, …` : names.join(", ");
    return `a ${field.enum.name} name (${shown}) or number`;
  }
  if (field.fieldKind === "message") {
    const known = wellKnownForms[field.message.typeName];
    if (known) return known;
    const inner = field.message.fields[0];
    if (inner?.fieldKind === "scalar") return scalarNames[inner.scalar];
  }
  return "a value";
}
