import { ScalarType, type DescField, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { fieldByAnyName } from "./field-path.ts";
import type { BigIntegerSources } from "./json-body.ts";

const int64Scalars = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64]);
const int64Wrappers = new Set(["google.protobuf.Int64Value", "google.protobuf.UInt64Value"]);

/**
 * JSON.parse turns 12345678901234567891 into 12345678901234567000. Where such a literal lands in a 64-bit
 * integer field (singular, repeated, map value, or an Int64Value/UInt64Value), this puts back its source
 * text, which proto3 JSON accepts and converts exactly. Elsewhere (double fields, google.protobuf.Value) the
 * number stays a number. Mutates `json`.
 */
export function exactBigIntegers(message: DescMessage, json: JsonValue, sources: BigIntegerSources | undefined): void {
  if (!sources || typeof json !== "object" || json === null || Array.isArray(json)) return;
  if (message.typeName.startsWith("google.protobuf.")) return;
  for (const [key, value] of Object.entries(json)) {
    const field = fieldByAnyName(message, key);
    if (field) fixField(field, json, key, value, sources);
  }
}

function isInt64(field: DescField): boolean {
  switch (field.fieldKind) {
    case "scalar":
      return int64Scalars.has(field.scalar);
    case "list":
      return field.listKind === "scalar" && int64Scalars.has(field.scalar);
    case "map":
      return field.mapKind === "scalar" && int64Scalars.has(field.scalar);
    case "message":
      return int64Wrappers.has(field.message.typeName);
    default:
      return false;
  }
}

function fixField(field: DescField, holder: { [key: string]: JsonValue }, key: string, value: JsonValue, sources: BigIntegerSources): void {
  const exact = (container: object, k: string) => sources.get(container)?.get(k);
  if (isInt64(field)) {
    if (typeof value === "number") {
      const source = exact(holder, key);
      if (source !== undefined) holder[key] = source;
    } else if (typeof value === "object" && value !== null) {
      const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
      for (const [k, v] of entries) {
        const source = typeof v === "number" ? exact(value, k) : undefined;
        if (source !== undefined) (value as Record<string, JsonValue>)[k] = source;
      }
    }
    return;
  }
  const nested = messageOfField(field);
  if (!nested || typeof value !== "object" || value === null) return;
  if (field.fieldKind === "message") exactBigIntegers(nested, value, sources);
  else for (const item of Object.values(value)) exactBigIntegers(nested, item as JsonValue, sources);
}

function messageOfField(field: DescField): DescMessage | undefined {
  switch (field.fieldKind) {
    case "message":
      return field.message;
    case "list":
      return field.listKind === "message" ? field.message : undefined;
    case "map":
      return field.mapKind === "message" ? field.message : undefined;
    default:
      return undefined;
  }
}
