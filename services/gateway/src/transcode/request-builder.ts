import { create, fromJson, type DescField, type DescMessage, type JsonObject, type JsonValue, type Message, type Registry } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { Code } from "@connectrpc/connect";
import { invalidArgument } from "../../../../lib/errors/connect-errors.ts";
import { exactBigIntegers } from "./exact-integers.ts";
import { isScalarLike, isScalarList, resolveFieldPath } from "./field-path.ts";
import { setFieldFromText } from "./field-value.ts";
import { httpError } from "./http-error.ts";
import { isHttpBody, newHttpBody } from "./http-body.ts";
import { parseJsonBody } from "./json-body.ts";
import { decodeMultiSegment, decodeQueryComponent, decodeSingleSegment } from "./percent-decode.ts";
import type { Route } from "./route-table.ts";

export interface RequestParts {
  /** Each path variable's captured text, still percent-encoded (RouteMatch.values). */
  readonly pathValues: readonly string[];
  /** The raw query string, without `?`. */
  readonly query: string;
  readonly body: Uint8Array;
  readonly contentType: string | undefined;
}

export interface RequestBuilderOptions {
  /** Resolves google.protobuf.Any in bodies. */
  readonly registry: Registry;
  /** What an unknown query parameter does. @default "reject" */
  readonly unknownQueryParams?: "reject" | "ignore";
  /** What an unknown field in a JSON body does. @default "reject" */
  readonly unknownJsonFields?: "reject" | "ignore";
}

/**
 * Builds the RPC request of a matched route, as google/api/http.proto lays out: the body first (all of it,
 * one field, or none), then query parameters for the fields neither the path nor the body binds, then the
 * path variables, which win over anything the body said about the same field. Every problem with the input
 * is an InvalidArgument (HTTP 400) naming the parameter or the place in the body, or a 415 for a body that
 * is not JSON.
 */
export function buildRequest(route: Route, parts: RequestParts, options: RequestBuilderOptions): Message {
  const input = route.method.input;
  let message = create(input);
  const hasBody = parts.body.byteLength > 0;
  if (route.body === undefined) {
    if (hasBody) {
      throw invalidArgument("body", `${route.label} takes no request body; send the fields as query parameters`);
    }
  } else if (route.body === "*" && isHttpBody(input)) {
    message = newHttpBody(input, parts.contentType, parts.body);
  } else if (route.body !== "*" && route.body.fieldKind === "message" && isHttpBody(route.body.message)) {
    reflect(input, message).set(route.body, reflect(route.body.message, newHttpBody(route.body.message, parts.contentType, parts.body)));
  } else if (hasBody) {
    requireJson(parts.contentType);
    message = decodeJsonBody(input, route.body, parts.body, options);
  }

  const target = reflect(input, message);
  if (parts.query !== "") applyQuery(route, target, parts.query, options.unknownQueryParams ?? "reject");
  route.variables.forEach((variable, i) => {
    const raw = parts.pathValues[i] ?? "";
    const value = variable.template.multiSegment ? decodeMultiSegment(raw) : decodeSingleSegment(raw);
    if (value === undefined) throw invalidArgument(variable.name, "the path segment has a malformed percent-encoding or is not UTF-8");
    const leaf = descend(target, variable.fields);
    const problem = checkOneof(leaf, variable.fields.at(-1)!) ?? setFieldFromText(leaf, variable.fields.at(-1)!, [value]);
    if (problem !== undefined) throw invalidArgument(variable.name, `${problem} (path variable)`);
  });
  return message;
}

const jsonType = /^application\/(?:[\w.+-]+\+)?json$/;

/** JSON, or no content type at all; a charset, when given, must be UTF-8. */
function requireJson(contentType: string | undefined): void {
  if (contentType === undefined || contentType === "") return;
  const [type = "", ...params] = contentType.split(";").map((s) => s.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith("charset="))?.slice(8).replace(/"/g, "");
  if (jsonType.test(type) && (charset === undefined || charset === "utf-8" || charset === "utf8")) return;
  throw httpError(415, Code.InvalidArgument, `the request body must be JSON (Content-Type: application/json), not ${JSON.stringify(contentType.slice(0, 100))}`);
}

function decodeJsonBody(input: DescMessage, body: "*" | DescField, bytes: Uint8Array, options: RequestBuilderOptions): Message {
  const parsed = parseJsonBody(bytes);
  if (!parsed.ok) throw invalidArgument("body", `malformed JSON: ${parsed.problem}`);
  let json: JsonValue;
  if (body === "*") {
    if (typeof parsed.value !== "object" || parsed.value === null || Array.isArray(parsed.value)) {
      throw invalidArgument("body", `expected a JSON object for ${input.typeName}`);
    }
    json = parsed.value;
  } else {
    json = { [body.jsonName]: parsed.value };
  }
  if (parsed.bigIntegers || parsed.rootSource !== undefined) {
    if (body !== "*" && typeof parsed.value === "number" && parsed.rootSource !== undefined) {
      (json as JsonObject)[body.jsonName] = parsed.rootSource;
    }
    exactBigIntegers(input, json, parsed.bigIntegers);
  }
  try {
    return fromJson(input, json, {
      registry: options.registry,
      ignoreUnknownFields: options.unknownJsonFields === "ignore",
    });
  } catch (err) {
    const reason = err instanceof RangeError ? "the JSON is nested too deeply" : err instanceof Error ? err.message : String(err);
    throw invalidArgument(body === "*" ? "body" : body.name, reason);
  }
}

/** Walks to the message holding the last field, creating the messages on the way. */
function descend(target: ReflectMessage, fields: readonly DescField[]): ReflectMessage {
  let current = target;
  for (const field of fields.slice(0, -1)) {
    if (field.fieldKind !== "message") break;
    if (!current.isSet(field)) {
      const problem = checkOneof(current, field);
      if (problem !== undefined) throw invalidArgument(field.name, problem);
      current.set(field, reflect(field.message));
    }
    current = current.get(field) as ReflectMessage;
  }
  return current;
}

/** Setting a member of a oneof must not silently replace another member set by the body or the query. */
function checkOneof(target: ReflectMessage, field: DescField): string | undefined {
  if (!field.oneof) return undefined;
  const other = target.oneofCase(field.oneof);
  if (other === undefined || other === field) return undefined;
  return `${field.name} and ${other.name} are both members of oneof ${field.oneof.name}; set only one`;
}

function applyQuery(route: Route, target: ReflectMessage, query: string, unknown: "reject" | "ignore"): void {
  // Grouped by field, not by spelling: `page_size=1&pageSize=2` sets one field twice.
  const byField = new Map<string, { key: string; fields: DescField[]; texts: string[] }>();
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = decodeQueryComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeQueryComponent(eq < 0 ? "" : pair.slice(eq + 1));
    if (key === undefined || value === undefined) {
      throw invalidArgument("query", `${JSON.stringify(pair.slice(0, 100))} has a malformed percent-encoding or is not UTF-8`);
    }
    const fields = queryFields(route, key);
    if (typeof fields === "string") {
      if (unknown === "ignore") continue;
      throw invalidArgument(key, `${fields} (query parameter)`);
    }
    const id = fields.map((f) => f.number).join(".");
    const entry = byField.get(id);
    if (entry) {
      entry.texts.push(value);
      entry.key = key;
    } else {
      byField.set(id, { key, fields, texts: [value] });
    }
  }
  for (const { key, fields, texts } of byField.values()) {
    const leaf = fields.at(-1)!;
    if (!isScalarList(leaf) && texts.length > 1) {
      throw invalidArgument(key, `given ${texts.length} times, but ${leaf.name} is not repeated (query parameter)`);
    }
    const holder = descend(target, fields);
    const problem = checkOneof(holder, leaf) ?? setFieldFromText(holder, leaf, texts);
    if (problem !== undefined) throw invalidArgument(key, `${problem} (query parameter)`);
  }
}

/** The fields a query parameter sets, or why it cannot set any. */
function queryFields(route: Route, key: string): DescField[] | string {
  if (route.body === "*") return "unknown: every field of this route comes from the path or the body";
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(key)) return "unknown: not a field path";
  const fields = resolveFieldPath(route.method.input, key.split("."), "any");
  if (typeof fields === "string") return `unknown: ${fields}`;
  if (route.body !== undefined && fields[0] === route.body) return `unknown: ${route.body.name} comes from the body`;
  if (route.variables.some((v) => v.fields.length === fields.length && v.fields.every((f, i) => f === fields[i]))) {
    return "unknown: the field is bound by the path";
  }
  const leaf = fields.at(-1)!;
  if (isScalarLike(leaf) || isScalarList(leaf)) return fields;
  if (leaf.fieldKind === "map") return `unsupported: map field ${leaf.name} cannot be set from the query`;
  if (leaf.fieldKind === "list") return `unsupported: repeated message field ${leaf.name} cannot be set from the query`;
  return `unsupported: ${leaf.name} is a message; set its fields as ${key}.<field>`;
}
