import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommentIndex } from "./comments.ts";
import { createOpenApiDocument } from "./openapi.ts";
import { servicesOf } from "./descriptor-set.ts";
import { createRouteTable, type RouteTable } from "./route-table.ts";
import { buildDescriptorSet, type BuiltDescriptorSet } from "./test-support/test-protos.ts";

type Doc = {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, Record<string, unknown>> };
  tags: Array<{ name: string; description?: string }>;
};

let set: BuiltDescriptorSet;
let table: RouteTable;
let doc: Doc;

beforeAll(async () => {
  // The mesh's protos and the test protos, compiled with their comments (source info).
  set = await buildDescriptorSet(["proto", "test/protos"]);
  const services = servicesOf(set.registry).filter((s) => s.typeName.startsWith("mesh.data.") || s.typeName.startsWith("transcode.library."));
  table = createRouteTable(services);
  const comments = createCommentIndex([...set.registry.files].map((f) => f.proto));
  doc = createOpenApiDocument(table.routes, { title: "test", version: "1.2.3", comments }) as unknown as Doc;
});
afterAll(() => set.remove());

/** Every `$ref` in the document, recursively. */
function refs(value: unknown, into: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refs(v, into));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string") into.push(v);
      else refs(v, into);
    }
  }
  return into;
}

describe("createOpenApiDocument", () => {
  it("is OpenAPI 3.1 with one operation per route, from the same table", () => {
    expect((doc as unknown as { openapi: string }).openapi).toBe("3.1.0");
    const operations = Object.values(doc.paths).flatMap((item) => Object.keys(item));
    expect(operations).toHaveLength(table.routes.length);
  });

  it("resolves every $ref", () => {
    for (const ref of refs(doc)) {
      const name = ref.replace("#/components/schemas/", "");
      expect(doc.components.schemas[name], ref).toBeDefined();
    }
  });

  it("takes descriptions from the proto comments", () => {
    const get = doc.paths["/v1/items/{id}"]!.get!;
    expect(get.summary).toBe("Returns one item. Unknown and deleted ids fail with NOT_FOUND.");
    expect(get.operationId).toBe("mesh.data.v1.DataService.GetItem");
    expect(doc.tags.find((t) => t.name === "mesh.data.v1.DataService")?.description).toMatch(/^DataService stores items and users in PostgreSQL/);
    const item = doc.components.schemas["mesh.data.v1.Item"]!;
    expect(item.description).toBe("An item: a named, free-form JSON value with metadata, versioned for optimistic concurrency.");
    expect((item.properties as Record<string, Record<string, unknown>>).createTime).toEqual({
      type: "string",
      format: "date-time",
      description: "When the item was created. Output only.",
    });
  });

  it("renders variables, verbs and multi-segment captures as path parameters", () => {
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/v1/items/{id}:undelete", "/v1/items/{item.id}", "/v1/{name}", "/v1/{parent}/books", "/v1/files/{path}:info", "/v1/any/{_wildcard1}/thing"]),
    );
    const getBook = doc.paths["/v1/{name}"]!.get!;
    expect(getBook.parameters).toEqual([
      {
        name: "name",
        in: "path",
        required: true,
        schema: {
          type: "string",
          pattern: "^shelves/[^/]+/books/[^/]+$",
          description: "shelves/{shelf}/books/{book}.\n\nSpans several path segments: its slashes are part of the value, not escaped.",
        },
      },
    ]);
    expect(doc.paths["/v1/items/{item.id}"]!.patch).toBeDefined();
    expect(doc.paths["/v1/items/{item.id}"]!.put!.operationId).toBe("mesh.data.v1.DataService.UpdateItem.1");
  });

  it("lists query parameters, lowerCamelCase and dotted, without path or body fields", () => {
    const list = doc.paths["/v1/{parent}/books"]!.get!;
    const names = (list.parameters as Array<{ name: string; in: string }>).map((p) => `${p.in}:${p.name}`);
    expect(names).toEqual([
      "path:parent",
      "query:pageSize",
      "query:filter",
      "query:genres",
      "query:tags",
      "query:since",
      "query:maxAge",
      "query:readMask",
      "query:minPages",
      "query:inPrint",
      "query:options.includeDrafts",
      "query:options.paging.size",
      "query:byTitle",
      "query:byAuthor",
      "query:ids",
    ]);
    const create = doc.paths["/v1/{parent}/books"]!.post!;
    expect((create.parameters as Array<{ name: string }>).map((p) => p.name)).toEqual(["parent", "requestId"]);
    expect(create.requestBody).toEqual({ content: { "application/json": { schema: { $ref: "#/components/schemas/transcode.library.v1.Book", description: "The book." } } } });
  });

  it("leaves path fields out of a body \"*\" schema", () => {
    const undelete = doc.paths["/v1/{name}:undelete"]!.post!;
    const schema = (undelete.requestBody as { content: Record<string, { schema: { properties: object } }> }).content["application/json"]!.schema;
    expect(Object.keys(schema.properties)).toEqual(["reason"]);
  });

  it("maps proto3 JSON types", () => {
    const all = doc.components.schemas["transcode.library.v1.AllTypes"]!.properties as Record<string, Record<string, unknown>>;
    const strip = (s: Record<string, unknown> | undefined) => {
      const { description: _, ...rest } = s ?? {};
      return rest;
    };
    expect(strip(all.fInt64)).toEqual({ type: "string", format: "int64" });
    expect(strip(all.fUint32)).toEqual({ type: "integer", minimum: 0, maximum: 4294967295 });
    expect(strip(all.fBytes)).toEqual({ type: "string", contentEncoding: "base64" });
    expect(strip(all.fEnum)).toEqual({ $ref: "#/components/schemas/transcode.library.v1.Genre" });
    expect(strip(all.fDuration)).toMatchObject({ type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$" });
    expect(strip(all.wInt32)).toEqual({ type: ["integer", "null"], format: "int32" });
    expect(strip(all.value)).toEqual({});
    expect(strip(all.struct)).toEqual({ type: "object", additionalProperties: true });
    expect(strip(all.rInt64)).toEqual({ type: "array", items: { type: "string", format: "int64" } });
    expect(strip(all.mInt64)).toEqual({ type: "object", additionalProperties: { type: "string", format: "int64" } });
    expect(doc.components.schemas["transcode.library.v1.Genre"]).toEqual({
      type: "string",
      enum: ["GENRE_UNSPECIFIED", "GENRE_FICTION", "GENRE_HISTORY", "GENRE_POETRY"],
      description:
        "The genre of a book.\n\n- GENRE_UNSPECIFIED: Not set.\n- GENRE_FICTION: Made up.\n- GENRE_HISTORY: True stories.\n- GENRE_POETRY: Verse.\n\nThe value's number is accepted too.",
    });
  });

  it("describes responses: response_body, HttpBody, streams, and google.rpc.Status errors", () => {
    const titles = doc.paths["/v1/shelves/{shelf}/titles"]!.get!.responses as Record<string, { content: Record<string, { schema: unknown }> }>;
    expect(titles["200"]!.content["application/json"]!.schema).toEqual({ type: "array", items: { type: "string" }, description: "The titles." });
    expect(titles.default!.content["application/json"]!.schema).toEqual({ $ref: "#/components/schemas/google.rpc.Status" });
    const download = doc.paths["/v1/downloads/{id}"]!.get!.responses as Record<string, { content: object }>;
    expect(Object.keys(download["200"]!.content)).toEqual(["*/*"]);
    const watch = doc.paths["/v1/shelves/{shelf}:watch"]!.get!.responses as Record<string, { content: object }>;
    expect(Object.keys(watch["200"]!.content)).toEqual(["application/x-ndjson", "text/event-stream"]);
    expect(doc.paths["/v1/echo/{text}"]!["x-any-method"]).toBeDefined();
  });
});
