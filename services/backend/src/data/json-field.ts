import { toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";

/** Nesting deeper than this is refused: PostgreSQL's jsonb and every consumer's parser stay safe. */
export const maxJsonDepth = 32;

/** Why `value` cannot be stored as jsonb, or undefined when it can. */
function problemOf(value: JsonValue, depth: number): string | undefined {
  if (depth > maxJsonDepth) return `nests deeper than ${maxJsonDepth} levels`;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : "holds a number that is NaN or infinite, which JSON cannot express";
  if (typeof value === "string") return value.includes("\u0000") ? "holds a string with U+0000, which cannot be stored" : undefined;
  if (value === null || typeof value === "boolean") return undefined;
  if (Array.isArray(value)) {
    for (const element of value) {
      const problem = problemOf(element, depth + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  for (const [key, element] of Object.entries(value)) {
    if (key.includes("\u0000")) return "holds a key with U+0000, which cannot be stored";
    const problem = problemOf(element, depth + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

export type JsonFieldResult = { ok: true; json: string } | { ok: false; reason: string };

function serialise(value: JsonValue, maxBytes: number): JsonFieldResult {
  const problem = problemOf(value, 1);
  if (problem !== undefined) return { ok: false, reason: problem };
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) return { ok: false, reason: `is ${bytes} bytes of JSON; the limit is ${maxBytes}` };
  return { ok: true, json };
}

/** A google.protobuf.Value as JSON text for a jsonb column; undefined input stays undefined (SQL NULL). */
export function valueToJsonText(value: Value | undefined, maxBytes: number): JsonFieldResult | undefined {
  if (value === undefined) return undefined;
  let json: JsonValue;
  try {
    json = toJson(ValueSchema, value);
  } catch {
    return { ok: false, reason: "must hold a JSON value: null, a finite number, a string, a boolean, a list or an object" };
  }
  return serialise(json, maxBytes);
}

/** A google.protobuf.Struct (a JSON object) as JSON text; unset means `{}`. */
export function objectToJsonText(value: JsonObject | undefined, maxBytes: number): JsonFieldResult {
  return serialise(value ?? {}, maxBytes);
}

/** JSON text with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: JsonValue | undefined): string {
  if (value === undefined) return "undefined";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(",")}}`;
}
