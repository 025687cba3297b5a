import type { DescField, DescMessage } from "@bufbuild/protobuf";
import type { CommentIndex } from "./comments.ts";
import { isScalarLike, isScalarList } from "./field-path.ts";
import { isHttpBody } from "./http-body.ts";
import { createSchemaBuilder, statusSchemaName, type Schema } from "./openapi-schemas.ts";
import type { Route, RouteVariable } from "./route-table.ts";

export interface OpenApiOptions {
  title: string;
  version: string;
  /** Proto comments by full name; descriptions are empty without them. */
  comments?: CommentIndex;
}

/**
 * An OpenAPI 3.1 document for the REST routes, generated from the same route table the gateway routes with,
 * so it cannot drift from what is served (schemas in openapi-schemas.ts). Proto comments become summaries
 * and descriptions.
 */
export function createOpenApiDocument(routes: readonly Route[], options: OpenApiOptions): Schema {
  const { schemas, ref, messageRef, fieldSchema, comment } = createSchemaBuilder(options.comments);

  const paths: Record<string, Record<string, Schema>> = {};
  const skipped: string[] = [];
  const tags = new Map<string, string | undefined>();
  for (const route of routes) {
    const { path, parameters } = pathOf(route, fieldSchema);
    const verb = route.binding.method === "*" ? "x-any-method" : route.binding.method.toLowerCase();
    const item = (paths[path] ??= {});
    if (item[verb]) {
      skipped.push(`${route.label} (${route.method.parent.typeName}.${route.method.name}): same OpenAPI path and method as another route`);
      continue;
    }
    tags.set(route.service.typeName, comment(route.service.typeName));
    const methodComment = comment(`${route.service.typeName}.${route.method.name}`);
    const operation: Schema = {
      operationId: `${route.service.typeName}.${route.method.name}${route.binding.index > 0 ? `.${route.binding.index}` : ""}`,
      tags: [route.service.typeName],
      summary: methodComment?.split("\n")[0] ?? route.method.name,
      ...(methodComment ? { description: methodComment } : {}),
      parameters: [...parameters, ...queryParameters(route, fieldSchema)],
      responses: {
        "200": successResponse(route, fieldSchema, messageRef, ref),
        default: { description: "An error.", content: { "application/json": { schema: ref(statusSchemaName) } } },
      },
      ...(route.method.deprecated ? { deprecated: true } : {}),
    };
    const body = requestBody(route, fieldSchema, messageRef, schemas);
    if (body) operation.requestBody = body;
    item[verb] = operation;
  }

  return {
    openapi: "3.1.0",
    info: {
      title: options.title,
      version: options.version,
      description:
        "REST/JSON transcoding of the mesh's Connect and gRPC services, generated from their google.api.http rules. " +
        "JSON follows the proto3 mapping; both lowerCamelCase and proto field names are accepted, lowerCamelCase is returned. " +
        "Deadlines come from grpc-timeout, connect-timeout-ms or X-Server-Timeout; every response carries X-Request-Id.",
    },
    servers: [{ url: "/" }],
    tags: [...tags].map(([name, description]) => ({ name, ...(description ? { description } : {}) })),
    paths,
    components: { schemas },
    ...(skipped.length > 0 ? { "x-skipped-routes": skipped } : {}),
  };
}

/**
 * The OpenAPI path of a route, `{field.path}` for each variable, and its path parameters. A variable spanning
 * several segments is still one parameter, with a pattern: its slashes are part of the value.
 */
function pathOf(route: Route, fieldSchema: (f: DescField) => Schema): { path: string; parameters: Schema[] } {
  const segments = route.template.segments;
  const byStart = new Map<number, RouteVariable>(route.variables.map((v) => [v.template.start, v]));
  const parts: string[] = [];
  const parameters: Schema[] = [];
  let unnamed = 0;
  for (let i = 0; i < segments.length; ) {
    const variable = byStart.get(i);
    if (variable) {
      const end = variable.template.end ?? segments.length;
      parts.push(`{${variable.name}}`);
      const schema: Schema = { ...fieldSchema(variable.fields.at(-1)!) };
      if (variable.template.multiSegment) {
        schema.pattern = `^${segments.slice(i, end).map(segmentPattern).join("/")}$`;
        schema.description = [schema.description, "Spans several path segments: its slashes are part of the value, not escaped."]
          .filter(Boolean)
          .join("\n\n");
      }
      parameters.push({ name: variable.name, in: "path", required: true, schema });
      i = end;
      continue;
    }
    const segment = segments[i]!;
    if (segment.kind === "literal") {
      parts.push(encodeURIComponent(segment.value));
    } else {
      const name = `_${segment.kind}${++unnamed}`;
      parts.push(`{${name}}`);
      parameters.push({ name, in: "path", required: true, description: "Any text; not passed to the RPC.", schema: { type: "string" } });
      if (segment.kind === "deep") i = segments.length;
    }
    i++;
  }
  const verb = route.template.verb === undefined ? "" : `:${route.template.verb}`;
  return { path: `/${parts.join("/")}${verb}`, parameters };
}

function segmentPattern(segment: Route["template"]["segments"][number]): string {
  if (segment.kind === "wildcard") return "[^/]+";
  if (segment.kind === "deep") return ".*";
  return segment.value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Query parameters: every scalar leaf reachable without crossing the path or the body, dotted, lowerCamelCase. */
function queryParameters(route: Route, fieldSchema: (f: DescField) => Schema): Schema[] {
  if (route.body === "*") return [];
  const out: Schema[] = [];
  const bound = (fields: readonly DescField[]) =>
    route.variables.some((v) => v.fields.length === fields.length && v.fields.every((f, i) => f === fields[i]));
  const walk = (message: DescMessage, prefix: DescField[], seen: ReadonlySet<string>) => {
    for (const field of message.fields) {
      const path = [...prefix, field];
      if (path.length === 1 && field === route.body) continue;
      if (bound(path)) continue;
      const name = path.map((f) => f.jsonName).join(".");
      if (isScalarLike(field) || isScalarList(field)) {
        out.push({ name, in: "query", required: false, schema: fieldSchema(field), ...(isScalarList(field) ? { explode: true } : {}) });
      } else if (field.fieldKind === "message" && !seen.has(field.message.typeName) && prefix.length < 3) {
        walk(field.message, path, new Set([...seen, field.message.typeName]));
      }
    }
  };
  walk(route.method.input, [], new Set([route.method.input.typeName]));
  return out;
}

function requestBody(
  route: Route,
  fieldSchema: (f: DescField) => Schema,
  messageRef: (m: DescMessage) => Schema,
  schemas: Record<string, Schema>,
): Schema | undefined {
  if (route.body === undefined) return undefined;
  const input = route.method.input;
  const target = route.body === "*" ? input : route.body.fieldKind === "message" ? route.body.message : undefined;
  if (target && isHttpBody(target)) return { content: { "*/*": { schema: {} } } };
  let schema: Schema;
  if (route.body === "*") {
    // Top-level fields bound by the path are not part of the body.
    const inPath = new Set(route.variables.filter((v) => v.fields.length === 1).map((v) => v.fields[0]!.jsonName));
    schema = messageRef(input);
    const whole = schemas[input.typeName];
    if (inPath.size > 0 && whole) {
      const properties = Object.fromEntries(Object.entries((whole.properties ?? {}) as Record<string, Schema>).filter(([k]) => !inPath.has(k)));
      schema = { ...whole, properties };
    }
  } else {
    schema = fieldSchema(route.body);
  }
  return { content: { "application/json": { schema } } };
}

function successResponse(
  route: Route,
  fieldSchema: (f: DescField) => Schema,
  messageRef: (m: DescMessage) => Schema,
  ref: (name: string) => Schema,
): Schema {
  const field = route.responseBody;
  const message = field === undefined ? route.method.output : field.fieldKind === "message" ? field.message : undefined;
  if (message && isHttpBody(message)) return { description: "The response bytes, with their own content type.", content: { "*/*": { schema: {} } } };
  const schema = field === undefined ? messageRef(route.method.output) : fieldSchema(field);
  if (route.method.methodKind !== "server_streaming") {
    return { description: "OK", content: { "application/json": { schema } } };
  }
  return {
    description:
      "A stream of messages: newline-delimited JSON, one `{\"result\": …}` per line and a last `{\"error\": google.rpc.Status}` on failure; " +
      "or, with `Accept: text/event-stream`, Server-Sent Events whose data is each message, and a final `error` event.",
    content: {
      "application/x-ndjson": {
        schema: { type: "object", properties: { result: schema, error: ref(statusSchemaName) } },
      },
      "text/event-stream": { schema: { type: "string" } },
    },
  };
}
