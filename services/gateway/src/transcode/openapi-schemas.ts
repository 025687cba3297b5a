import { ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import type { CommentIndex } from "./comments.ts";

export type Schema = Record<string, unknown>;

export const statusSchemaName = "google.rpc.Status";

/** JSON Schemas of messages, enums and fields in their proto3 JSON form, collected as components. */
export interface SchemaBuilder {
  /** Every component schema made so far, by full name; google.rpc.Status is always there. */
  readonly schemas: Record<string, Schema>;
  ref(name: string): Schema;
  messageRef(desc: DescMessage): Schema;
  fieldSchema(field: DescField): Schema;
  comment(fullName: string): string | undefined;
}

/**
 * Schemas follow the proto3 JSON mapping the gateway speaks: lowerCamelCase properties, 64-bit integers as
 * strings, enums by name, well-known types in their JSON forms (inline), other messages and enums as
 * components named by their full name. Proto comments become descriptions.
 */
export function createSchemaBuilder(comments: CommentIndex | undefined): SchemaBuilder {
  const comment = (name: string) => comments?.of(name);
  const schemas: Record<string, Schema> = {
    [statusSchemaName]: {
      type: "object",
      description: "The error model of every failed request (google.rpc.Status).",
      properties: {
        code: { type: "integer", format: "int32", description: "The google.rpc.Code, such as 5 for NOT_FOUND." },
        message: { type: "string", description: "What went wrong, for a developer." },
        details: {
          type: "array",
          description: "Typed details (google.protobuf.Any), such as google.rpc.BadRequest; the last is a google.rpc.RequestInfo with the request id.",
          items: { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"], additionalProperties: true },
        },
      },
    },
  };
  const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

  function enumRef(desc: DescEnum): Schema {
    if (desc.typeName === "google.protobuf.NullValue") return { type: "null" };
    if (!schemas[desc.typeName]) {
      const lines = desc.values.map((v) => `- ${v.name}${comment(`${desc.typeName}.${v.name}`) ? `: ${comment(`${desc.typeName}.${v.name}`)}` : ""}`);
      schemas[desc.typeName] = {
        type: "string",
        enum: desc.values.map((v) => v.name),
        description: [comment(desc.typeName), lines.join("\n"), "The value's number is accepted too."].filter(Boolean).join("\n\n"),
      };
    }
    return ref(desc.typeName);
  }

  function messageRef(desc: DescMessage): Schema {
    const known = wellKnownSchema(desc);
    if (known) return known;
    if (!schemas[desc.typeName]) {
      const schema: Schema = { type: "object" };
      schemas[desc.typeName] = schema; // before the fields: recursive messages refer to themselves
      const properties: Record<string, Schema> = {};
      for (const field of desc.fields) properties[field.jsonName] = fieldSchema(field);
      const oneofs = desc.oneofs.map((o) => `At most one of ${o.fields.map((f) => f.jsonName).join(", ")} (oneof ${o.name}).`);
      const description = [comment(desc.typeName), ...oneofs].filter(Boolean).join("\n\n");
      if (description) schema.description = description;
      schema.properties = properties;
    }
    return ref(desc.typeName);
  }

  function valueSchema(kind: "scalar" | "enum" | "message", field: DescField): Schema {
    if (kind === "scalar") return scalarSchema((field as { scalar: ScalarType }).scalar);
    if (kind === "enum") return enumRef((field as { enum: DescEnum }).enum);
    return messageRef((field as { message: DescMessage }).message);
  }

  function fieldSchema(field: DescField): Schema {
    let schema: Schema;
    switch (field.fieldKind) {
      case "scalar":
        schema = scalarSchema(field.scalar);
        break;
      case "enum":
        schema = enumRef(field.enum);
        break;
      case "message":
        schema = messageRef(field.message);
        break;
      case "list":
        schema = { type: "array", items: valueSchema(field.listKind, field) };
        break;
      case "map":
        schema = { type: "object", additionalProperties: valueSchema(field.mapKind, field) };
        break;
    }
    const description = comment(`${field.parent.typeName}.${field.name}`);
    return { ...schema, ...(description ? { description } : {}), ...(field.deprecated ? { deprecated: true } : {}) };
  }

  return { schemas, ref, messageRef, fieldSchema, comment };
}

function scalarSchema(scalar: ScalarType): Schema {
  switch (scalar) {
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", minimum: 0, maximum: 4294967295 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
  }
}

const wrapperScalars: Readonly<Record<string, ScalarType>> = {
  "google.protobuf.DoubleValue": ScalarType.DOUBLE,
  "google.protobuf.FloatValue": ScalarType.FLOAT,
  "google.protobuf.Int64Value": ScalarType.INT64,
  "google.protobuf.UInt64Value": ScalarType.UINT64,
  "google.protobuf.Int32Value": ScalarType.INT32,
  "google.protobuf.UInt32Value": ScalarType.UINT32,
  "google.protobuf.BoolValue": ScalarType.BOOL,
  "google.protobuf.StringValue": ScalarType.STRING,
  "google.protobuf.BytesValue": ScalarType.BYTES,
};

/** Inline schemas of well-known types, in their proto3 JSON forms; undefined for other messages. */
function wellKnownSchema(desc: DescMessage): Schema | undefined {
  const wrapped = wrapperScalars[desc.typeName];
  if (wrapped !== undefined) {
    const inner = scalarSchema(wrapped);
    return { ...inner, type: [inner.type as string, "null"] };
  }
  switch (desc.typeName) {
    case "google.protobuf.Timestamp":
      return { type: "string", format: "date-time" };
    case "google.protobuf.Duration":
      return { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$", description: "Seconds with an `s` suffix, such as `1.5s`." };
    case "google.protobuf.FieldMask":
      return { type: "string", description: "Comma-separated lowerCamelCase field paths, such as `name,value`." };
    case "google.protobuf.Struct":
      return { type: "object", additionalProperties: true };
    case "google.protobuf.Value":
      return {};
    case "google.protobuf.ListValue":
      return { type: "array", items: {} };
    case "google.protobuf.Empty":
      return { type: "object" };
    case "google.protobuf.Any":
      return { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"], additionalProperties: true };
    default:
      return undefined;
  }
}
