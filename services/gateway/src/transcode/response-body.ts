import { create, toJson, type DescField, type DescMessage, type JsonValue, type Message, type Registry } from "@bufbuild/protobuf";
import { isHttpBody, readHttpBody } from "./http-body.ts";
import type { Route } from "./route-table.ts";

export interface JsonWriteSettings {
  readonly registry: Registry;
  /** Emit fields that hold their default value (0, "", false, []), as grpc-gateway does. @default false */
  readonly emitDefaults?: boolean;
}

/** A response body ready to write. */
export type EncodedBody = { contentType: string; body: string | Uint8Array };

/**
 * Encodes an RPC response for REST: proto3 JSON with lowerCamelCase names, only the `response_body` field
 * when the rule names one, and the raw bytes and content type of a google.api.HttpBody.
 */
export function encodeResponse(route: Route, message: Message, settings: JsonWriteSettings): EncodedBody {
  const output = route.method.output;
  const field = route.responseBody;
  if (field === undefined) {
    if (isHttpBody(output)) {
      const { contentType, data } = readHttpBody(output, message);
      return { contentType, body: data };
    }
    return json(messageJson(output, message, settings));
  }
  if (field.fieldKind === "message" && isHttpBody(field.message)) {
    const value = (message as unknown as Record<string, unknown>)[field.localName];
    const { contentType, data } = readHttpBody(field.message, (value as Message | undefined) ?? create(field.message));
    return { contentType, body: data };
  }
  return json(fieldJson(output, message, field, settings));
}

function json(value: JsonValue): EncodedBody {
  return { contentType: "application/json", body: JSON.stringify(value) };
}

function messageJson(desc: DescMessage, message: Message, settings: JsonWriteSettings): JsonValue {
  return toJson(desc, message, { registry: settings.registry, alwaysEmitImplicit: settings.emitDefaults ?? false });
}

/**
 * One top-level field's JSON. Its default is written out (`[]`, `0`, `""`), since the body cannot be
 * absent; an unset message field is written as its empty message, or `null` when that has no JSON form.
 */
function fieldJson(desc: DescMessage, message: Message, field: DescField, settings: JsonWriteSettings): JsonValue {
  const only = create(desc) as unknown as Record<string, unknown>;
  const source = message as unknown as Record<string, unknown>;
  if (field.oneof) {
    const group = source[field.oneof.localName] as { case?: string } | undefined;
    if (group?.case === field.localName) only[field.oneof.localName] = group;
  } else {
    only[field.localName] = source[field.localName];
  }
  const whole = toJson(desc, only as unknown as Message, { registry: settings.registry, alwaysEmitImplicit: true }) as Record<string, JsonValue>;
  const value = whole[field.jsonName];
  if (value !== undefined) return value;
  if (field.fieldKind !== "message") return null;
  try {
    return toJson(field.message, create(field.message), { registry: settings.registry, alwaysEmitImplicit: settings.emitDefaults ?? false });
  } catch {
    return null;
  }
}
