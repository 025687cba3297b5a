import type { DescService } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StatusService } from "../../../../gen/mesh/health/v1/status_pb.ts";
import { backendServices, controlServices } from "../../../../lib/mesh-services.ts";
import { createRouteTable, RouteTableError, type RouteTable } from "./route-table.ts";
import { syntheticService } from "./test-support/synthetic-service.ts";
import { buildDescriptorSet, type BuiltDescriptorSet } from "./test-support/test-protos.ts";

let set: BuiltDescriptorSet;
let library: DescService;
let table: RouteTable;
const examples = (name: string) => set.registry.getService(`transcode.examples.v1.${name}`)!;

beforeAll(async () => {
  set = await buildDescriptorSet();
  library = set.registry.getService("transcode.library.v1.LibraryService")!;
  table = createRouteTable([library]);
});
afterAll(() => set.remove());

describe("createRouteTable on the mesh's own services", () => {
  it("builds every binding of the data, queue, control and status services without conflict", () => {
    const mesh = createRouteTable([...backendServices, ...controlServices, StatusService]);
    expect(mesh.warnings).toEqual([]);
    const labels = mesh.routes.map((r) => r.label);
    expect(labels).toContain("GET /v1/items/{id}");
    expect(labels).toContain("PATCH /v1/items/{item.id}");
    expect(labels).toContain("PUT /v1/items/{item.id}");
    expect(labels).toContain("POST /v1/items/{id}:undelete");
    expect(labels).toContain("GET /v1/instances:watch");
    const bindings = [...backendServices, ...controlServices, StatusService].flatMap((s) => s.methods).length;
    expect(mesh.routes.length).toBe(bindings + 1); // UpdateItem has one additional binding
  });
});

describe("RouteTable.match", () => {
  it.each([
    ["GET", "/v1/shelves/1/books/2", "GetBook", ["shelves/1/books/2"]],
    ["PATCH", "/v1/shelves/1/books/2", "UpdateBook", ["shelves/1/books/2"]],
    ["PUT", "/v1/shelves/1/books/2", "UpdateBook", ["shelves/1/books/2"]],
    ["DELETE", "/v1/shelves/1/books/2", "DeleteBook", ["shelves/1/books/2"]],
    ["POST", "/v1/shelves/1/books/2:undelete", "UndeleteBook", ["shelves/1/books/2"]],
    ["GET", "/v1/shelves/1/books", "ListBooks", ["shelves/1"]],
    ["POST", "/v1/shelves/1/books", "CreateBook", ["shelves/1"]],
    ["SEARCH", "/v1/books", "SearchBooks", []],
    // A literal beats a variable; the variable still matches everything else.
    ["GET", "/v1/shelves/special", "GetSpecialShelf", []],
    ["GET", "/v1/shelves/specials", "GetShelf", ["specials"]],
    // A custom verb, and a colon that is no verb because no route has it: part of the value.
    ["GET", "/v1/shelves/s1:watch", "WatchShelf", ["s1"]],
    ["GET", "/v1/shelves/a:b", "GetShelf", ["a:b"]],
    ["GET", "/v1/shelves/a:b:watch", "WatchShelf", ["a:b"]],
    ["GET", "/v1/shelves/1/books/2:nope", "GetBook", ["shelves/1/books/2:nope"]],
    // `**` takes the rest of the path, zero segments included, before a verb too.
    ["GET", "/v1/files/a/b/c.txt", "GetFile", ["a/b/c.txt"]],
    ["GET", "/v1/files", "GetFile", [""]],
    ["GET", "/v1/files/a/b:info", "GetFileInfo", ["a/b"]],
    ["GET", "/v1/files/a//b", "GetFile", ["a//b"]],
    // Captured values stay encoded here; the request builder decodes them by the variable's kind.
    ["GET", "/v1/shelves/a%2Fb/books/c%20d", "GetBook", ["shelves/a%2Fb/books/c%20d"]],
    ["GET", "/v1/shelves/a%2Fb", "GetShelf", ["a%2Fb"]],
    // Literals compare decoded.
    ["GET", "/v1/shelves/sp%65cial", "GetSpecialShelf", []],
    // A custom rule with kind "*" accepts any method.
    ["BREW", "/v1/echo/hi", "Echo", ["hi"]],
    ["GET", "/v1/echo/hi", "Echo", ["hi"]],
    ["GET", "/v1/any/thing-or-other/thing", "Anything", []],
  ])("%s %s → %s %j", (method, path, rpc, values) => {
    const match = table.match(method, path);
    expect(match.kind).toBe("found");
    if (match.kind !== "found") return;
    expect(match.route.method.name).toBe(rpc);
    expect(match.values).toEqual(values);
  });

  it.each([
    ["GET", "/"],
    ["GET", "/v2/shelves/1"],
    ["GET", "/v1/shelves/1/books/2/3"],
    ["GET", "/v1/shelves/"],
    ["GET", "/v1//books"],
  ])("%s %s → not found", (method, path) => {
    expect(table.match(method, path)).toEqual({ kind: "not-found" });
  });

  it.each([
    ["POST", "/v1/shelves/1", ["GET"]],
    ["GET", "/v1/books", ["SEARCH"]],
    ["PATCH", "/v1/shelves/1/books", ["GET", "POST"]],
    ["HEAD", "/v1/shelves/1/books/2", ["DELETE", "GET", "PATCH", "PUT"]],
    ["GET", "/v1/shelves/1/books/2:undelete", ["POST"]],
  ])("%s %s → 405, allow %j", (method, path, allow) => {
    expect(table.match(method, path)).toEqual({ kind: "method-not-allowed", allow });
  });

  it.each(["/v1/shelves/%zz", "/v1/shelves/%FF", "/v1/shelves/a%"])("%s → bad path", (path) => {
    expect(table.match("GET", path)).toEqual({ kind: "bad-path" });
  });

  it("finds each of 10,000 routes in a table of 10,000", () => {
    const many = syntheticService(Array.from({ length: 10_000 }, (_, i) => ({ name: `M${i}`, rule: { pattern: { case: "get", value: `/v1/r${i}/{id}/x${i % 7}` } } })));
    const big = createRouteTable([many]);
    expect(big.routes).toHaveLength(10_000);
    for (const i of [0, 1, 4_999, 9_999]) {
      const match = big.match("GET", `/v1/r${i}/abc/x${i % 7}`);
      expect(match.kind === "found" && match.route.method.name).toBe(`M${i}`);
    }
    expect(big.match("GET", "/v1/r10000/abc/x0").kind).toBe("not-found");
  });
});

describe("conflicts and invalid rules are reported at start, all at once", () => {
  it("reports the http.proto examples that bind the same paths", () => {
    const build = () =>
      createRouteTable(["MessagingByName", "MessagingWithQuery", "MessagingUpdateField", "MessagingUpdateStar", "MessagingBindings"].map(examples));
    expect(build).toThrow(RouteTableError);
    try {
      build();
    } catch (err) {
      expect((err as RouteTableError).problems).toEqual([
        "GET /v1/messages/{message_id} (transcode.examples.v1.MessagingWithQuery.GetMessage) conflicts with GET /v1/{name=messages/*} (transcode.examples.v1.MessagingByName.GetMessage): both match GET /v1/messages/*",
        "PATCH /v1/messages/{message_id} (transcode.examples.v1.MessagingUpdateStar.UpdateMessage) conflicts with PATCH /v1/messages/{message_id} (transcode.examples.v1.MessagingUpdateField.UpdateMessage): both match PATCH /v1/messages/*",
        "GET /v1/messages/{message_id} (transcode.examples.v1.MessagingBindings.GetMessage) conflicts with GET /v1/{name=messages/*} (transcode.examples.v1.MessagingByName.GetMessage): both match GET /v1/messages/*",
      ]);
    }
  });

  it("does not call routes that differ in literals, verbs or methods conflicts", () => {
    const service = syntheticService([
      { name: "A", rule: { pattern: { case: "get", value: "/v1/x/{id}" } } },
      { name: "B", rule: { pattern: { case: "get", value: "/v1/x/special" } } },
      { name: "C", rule: { pattern: { case: "get", value: "/v1/x/{id}:verb" } } },
      { name: "D", rule: { pattern: { case: "post", value: "/v1/x/{id}" } } },
      { name: "E", rule: { pattern: { case: "get", value: "/v1/x/{name=**}" } } },
      { name: "F", rule: { pattern: { case: "custom", value: { kind: "*", path: "/v1/x/{id}" } } } },
    ]);
    expect(createRouteTable([service]).routes).toHaveLength(6);
  });

  it.each([
    [{ pattern: { case: "get", value: "v1/x" } }, "a template starts with `/`"],
    [{ pattern: { case: "get", value: "/v1/{missing}" } }, "path variable missing: synthetic.v1.Req has no field \"missing\""],
    [{ pattern: { case: "get", value: "/v1/{tags}" } }, "path variable tags must be a singular scalar"],
    [{ pattern: { case: "get", value: "/v1/{nested}" } }, "path variable nested must be a singular scalar"],
    [{ pattern: { case: "get", value: "/v1/{id.x}" } }, "path variable id.x: id is not a message"],
    [{ pattern: { case: "get", value: "/v1/{tags.x}" } }, "path variable tags.x: tags is repeated"],
    [{ pattern: { case: "post", value: "/v1/x" }, body: "nope" }, 'body "nope" is not a top-level field'],
    [{ pattern: { case: "post", value: "/v1/x" }, body: "nested.id" }, 'body "nested.id" is not a top-level field'],
    [{ pattern: { case: "get", value: "/v1/x" }, responseBody: "nope" }, 'response_body "nope" is not a top-level field'],
    [{}, "the rule has no method or path"],
    [{ pattern: { case: "custom", value: { kind: "", path: "/v1/x" } } }, "the rule has no method or path"],
  ] as const)("rejects %j: %s", (rule, reason) => {
    const service = syntheticService([{ name: "M", rule: rule as never }]);
    expect(() => createRouteTable([service])).toThrow(reason);
  });

  it("lists several problems in one error", () => {
    const service = syntheticService([
      { name: "A", rule: { pattern: { case: "get", value: "/v1/{missing}" } } },
      { name: "B", rule: { pattern: { case: "get", value: "/v1/x" }, additionalBindings: [{ pattern: { case: "get", value: "/v1/x" } }] } },
    ]);
    expect(() => createRouteTable([service])).toThrow(
      expect.objectContaining({
        problems: [
          'synthetic.v1.Synthetic.A: path variable missing: synthetic.v1.Req has no field "missing"',
          "GET /v1/x (synthetic.v1.Synthetic.B) conflicts with GET /v1/x (synthetic.v1.Synthetic.B): both match GET /v1/x",
        ],
      }),
    );
  });

  it("skips client and bidi streaming methods with a warning", () => {
    const service = syntheticService([
      { name: "Up", kind: "client", rule: { pattern: { case: "post", value: "/v1/up" }, body: "*" } },
      { name: "Chat", kind: "bidi", rule: { pattern: { case: "post", value: "/v1/chat" }, body: "*" } },
      { name: "Down", kind: "server", rule: { pattern: { case: "get", value: "/v1/down" } } },
    ]);
    const built = createRouteTable([service]);
    expect(built.routes.map((r) => r.method.name)).toEqual(["Down"]);
    expect(built.warnings).toEqual([
      "synthetic.v1.Synthetic.Up: POST /v1/up skipped: client_streaming RPCs cannot be called over REST",
      "synthetic.v1.Synthetic.Chat: POST /v1/chat skipped: bidi_streaming RPCs cannot be called over REST",
    ]);
  });
});
