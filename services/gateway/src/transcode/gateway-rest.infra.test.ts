import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, type DescMessage, type DescService, type Message } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type HandlerContext, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../../../gen/grpc/health/v1/health_pb.ts";
import { DataService } from "../../../../gen/mesh/data/v1/data_pb.ts";
import { QueueService } from "../../../../gen/mesh/queue/v1/queue_pb.ts";
import { getFreePort } from "../../../../lib/infra/free-port.ts";
import { spawnManaged, type ManagedProcess } from "../../../../lib/infra/managed-process.ts";
import { createLogger } from "../../../../lib/logging/create-logger.ts";
import { createMeshServer, type MeshServer } from "../../../../lib/server/mesh-server.ts";
import { createTempDir } from "../../../../test/temp-dir.ts";
import { send } from "./test-support/send.ts";
import { buildDescriptorSet, type BuiltDescriptorSet } from "./test-support/test-protos.ts";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const buf = join(root, "node_modules/.bin/buf");

/** What the upstream saw: the RPC, the request headers and the remaining deadline. */
interface Seen {
  rpc: string;
  request: Message;
  headers: Headers;
  timeoutMs: number | undefined;
}
const seen: Seen[] = [];
const lastSeen = (rpc: string) => seen.filter((s) => s.rpc === rpc).at(-1)!;
const record = (rpc: string, request: Message, ctx: HandlerContext) =>
  seen.push({ rpc, request, headers: ctx.requestHeader, timeoutMs: ctx.timeoutMs() });

const createTime = timestampFromDate(new Date("2026-01-02T03:04:05.678Z"));

/**
 * The gateway's only upstream, in this test process: parts of DataService and QueueService (the real data
 * service is not needed to check transcoding) and the LibraryService of the test protos, which the gateway
 * knows only from a descriptor set.
 */
function createUpstream(library: DescService): MeshServer {
  return createMeshServer({
    logger: createLogger({ service: "upstream", instance: "upstream-1", level: "silent" }),
    routes(router) {
      router.service(DataService, {
        async getItem(req, ctx) {
          record("GetItem", req, ctx);
          if (req.id === "missing") throw new ConnectError(`item "${req.id}" not found`, Code.NotFound);
          ctx.responseHeader.set("x-cache", req.nocache ? "bypass" : "hit");
          ctx.responseTrailer.set("x-served-by", "upstream-1");
          return { item: { id: req.id, name: `item ${req.id}`, version: 3n, value: { kind: { case: "numberValue", value: 42 } }, createTime }, cached: !req.nocache };
        },
        async createItem(req, ctx) {
          record("CreateItem", req, ctx);
          const { name = "", metadata, status = 0 } = req.item ?? {};
          return { item: { id: "new-id", name, metadata, status, version: 1n, createTime } };
        },
        async updateItem(req, ctx) {
          record("UpdateItem", req, ctx);
          return { item: { id: req.item?.id, name: req.item?.name, value: req.item?.value, version: req.expectedVersion + 1n } };
        },
      });
      router.service(QueueService, {
        async *consume(req, ctx) {
          record("Consume", req, ctx);
          if (req.queue === "missing") throw new ConnectError(`queue "${req.queue}" does not exist`, Code.NotFound);
          for (let i = 1; i <= 2; i++) yield { message: { message: { id: `${req.queue}-${i}` }, leaseToken: `t${i}` } };
          if (req.consumer === "fail") throw new ConnectError("the queue was purged", Code.Aborted);
        },
      });
      const bookOf = (output: DescMessage, name: string) => create(output, { name, title: "Dune" } as never);
      router.service(library, {
        async getBook(req: Message & { name: string }, ctx: HandlerContext) {
          record("GetBook", req, ctx);
          return bookOf(library.methods.find((m) => m.name === "GetBook")!.output, req.name);
        },
      } as never);
    },
  });
}

let sets: { mesh: BuiltDescriptorSet; library: BuiltDescriptorSet };
let upstream: MeshServer;
let gateway: ManagedProcess;
let gatewayUrl: string;
let logs: { remove(): Promise<void> };
const sessions: Http2SessionManager[] = [];
let library: DescService;

function session(): Http2SessionManager {
  const manager = new Http2SessionManager(gatewayUrl);
  sessions.push(manager);
  return manager;
}

async function untilServing(url: string, process: ManagedProcess): Promise<void> {
  const manager = new Http2SessionManager(url);
  const health = createClient(Health, createGrpcTransport({ baseUrl: url, sessionManager: manager }));
  try {
    for (let attempt = 0; attempt < 300; attempt++) {
      if (!process.isRunning()) throw new Error(`the gateway exited:\n${process.readLog()}`);
      try {
        if ((await health.check({}, { timeoutMs: 1000 })).status === HealthCheckResponse_ServingStatus.SERVING) return;
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the gateway did not serve:\n${process.readLog()}`);
  } finally {
    manager.abort();
  }
}

function bufCurl(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(buf, ["curl", "--timeout", "20s", ...args], { timeout: 25_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") reject(error);
      else resolve({ exitCode: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

beforeAll(async () => {
  sets = { mesh: await buildDescriptorSet(["proto"]), library: await buildDescriptorSet(["test/protos/transcode/library"]) };
  library = sets.library.registry.getService("transcode.library.v1.LibraryService")!;
  upstream = createUpstream(library);
  await upstream.listen();
  const port = await getFreePort();
  gatewayUrl = `http://127.0.0.1:${port}`;
  const dir = await createTempDir("gateway-rest");
  logs = dir;
  gateway = spawnManaged({
    command: process.execPath,
    args: ["--import", join(root, "services/gateway/src/telemetry.ts"), join(root, "services/gateway/src/main.ts")],
    env: {
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      INSTANCE_ID: "gateway-rest-test",
      UPSTREAMS: upstream.url,
      DESCRIPTOR_SETS: `${sets.mesh.path},${sets.library.path}`,
      // The same process again, as the pool of services outside the mesh (LibraryService).
      DESCRIPTOR_SET_UPSTREAMS: upstream.url,
      MESH_SERVICE_SECRET: "a-mesh-service-secret-for-the-rest-test-0123",
      TRANSCODE_MAX_TIMEOUT_MS: "5000",
      LOG_LEVEL: "warn",
    },
    logFile: join(dir.path, "gateway.log"),
    stopSignal: "SIGTERM",
    searchPath: process.env.PATH ?? "",
  });
  await untilServing(gatewayUrl, gateway);
});

afterAll(async () => {
  for (const manager of sessions) manager.abort();
  await gateway?.stop();
  await upstream?.close(0);
  await sets?.mesh.remove();
  await sets?.library.remove();
  await logs?.remove();
});

describe("REST through a gateway process to a real upstream", () => {
  it("GET /v1/items/{id}: proto3 JSON out, headers both ways, metadata back as headers", async () => {
    const res = await send(gatewayUrl, {
      path: "/v1/items/i-1?nocache=true",
      headers: {
        "x-request-id": "rest-e2e-1",
        authorization: "Bearer abc",
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      },
    });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      item: { id: "i-1", name: "item i-1", value: 42, version: "3", createTime: "2026-01-02T03:04:05.678Z" },
    });
    expect(res.headers["x-request-id"]).toBe("rest-e2e-1");
    expect(res.headers["x-cache"]).toBe("bypass");
    expect(res.headers["x-served-by"]).toBe("upstream-1");
    const call = lastSeen("GetItem");
    expect(call.headers.get("authorization")).toBe("Bearer abc");
    expect(call.headers.get("x-request-id")).toBe("rest-e2e-1");
    expect(call.headers.get("traceparent")).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    // Unary calls without a deadline get the default, capped by TRANSCODE_MAX_TIMEOUT_MS.
    expect(call.timeoutMs).toBeGreaterThan(0);
    expect(call.timeoutMs).toBeLessThanOrEqual(5000);
  });

  it("POST /v1/items with body \"item\" and Idempotency-Key", async () => {
    const res = await send(gatewayUrl, {
      method: "POST",
      path: "/v1/items",
      headers: { "content-type": "application/json", "idempotency-key": "key-7" },
      body: JSON.stringify({ name: "widget", metadata: { color: "red" }, status: "ITEM_STATUS_ARCHIVED" }),
    });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      item: { id: "new-id", name: "widget", metadata: { color: "red" }, status: "ITEM_STATUS_ARCHIVED", version: "1", createTime: "2026-01-02T03:04:05.678Z" },
    });
    expect(lastSeen("CreateItem").headers.get("idempotency-key")).toBe("key-7");
  });

  it("PATCH and PUT /v1/items/{item.id}: the nested path field, the body, and the query", async () => {
    for (const method of ["PATCH", "PUT"]) {
      const res = await send(gatewayUrl, {
        method,
        path: "/v1/items/i-9?updateMask=name,value&expected_version=4",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "renamed", value: [1, "two"] }),
      });
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ item: { id: "i-9", name: "renamed", value: [1, "two"], version: "5" } });
    }
  });

  it("maps the upstream's NotFound to 404 with a google.rpc.Status", async () => {
    const res = await send(gatewayUrl, { path: "/v1/items/missing", headers: { "x-request-id": "rest-e2e-404" } });
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({
      code: 5,
      message: 'item "missing" not found',
      details: [{ "@type": "type.googleapis.com/google.rpc.RequestInfo", requestId: "rest-e2e-404" }],
    });
  });

  it.each([
    ["grpc-timeout", "1S", 1000],
    ["connect-timeout-ms", "800", 800],
    ["x-server-timeout", "3600", 5000],
  ])("turns %s: %s into an upstream deadline of at most %d ms", async (name, value, atMost) => {
    await send(gatewayUrl, { path: "/v1/items/deadline", headers: { [name]: value } });
    const call = lastSeen("GetItem");
    expect(call.timeoutMs).toBeGreaterThan(0);
    expect(call.timeoutMs).toBeLessThanOrEqual(atMost);
  });

  it("streams QueueService.Consume as Server-Sent Events, the error as the last event", async () => {
    const res = await send(gatewayUrl, {
      method: "POST",
      path: "/v1/queues/jobs:consume",
      headers: { accept: "text/event-stream", "content-type": "application/json", "x-request-id": "sse-1" },
      body: JSON.stringify({ consumer: "fail", maxInFlight: 2 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(res.text()).toBe(
      'data: {"message":{"message":{"id":"jobs-1"},"leaseToken":"t1"}}\n\n' +
        'data: {"message":{"message":{"id":"jobs-2"},"leaseToken":"t2"}}\n\n' +
        'event: error\ndata: {"code":10,"message":"the queue was purged","details":[{"@type":"type.googleapis.com/google.rpc.RequestInfo","requestId":"sse-1"}]}\n\n',
    );
    expect(lastSeen("Consume").request).toMatchObject({ queue: "jobs", consumer: "fail", maxInFlight: 2 });
  });

  it("streams NDJSON without Accept: text/event-stream", async () => {
    const res = await send(gatewayUrl, { method: "POST", path: "/v1/queues/jobs:consume", body: "{}" });
    expect(res.status).toBe(200);
    expect(res.text().trimEnd().split("\n").map((l) => JSON.parse(l) as unknown)).toEqual([
      { result: { message: { message: { id: "jobs-1" }, leaseToken: "t1" } } },
      { result: { message: { message: { id: "jobs-2" }, leaseToken: "t2" } } },
    ]);
  });

  it("answers a stream that fails at once (gRPC trailers-only) with the HTTP status of its error", async () => {
    const res = await send(gatewayUrl, { method: "POST", path: "/v1/queues/missing:consume", body: "{}" });
    expect(res.status).toBe(404);
    expect(res.json()).toMatchObject({ code: 5, message: 'queue "missing" does not exist' });
  });

  it("routes a service it only knows from DESCRIPTOR_SETS", async () => {
    const res = await send(gatewayUrl, { path: "/v1/shelves/7/books/dune%2Fpart-1" });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ name: "shelves/7/books/dune%2Fpart-1", title: "Dune" });
  });

  it("presents the mesh's service credential to mesh backends only, never to a DESCRIPTOR_SET_UPSTREAMS service", async () => {
    expect((await send(gatewayUrl, { path: "/v1/shelves/7/books/dune" })).status).toBe(200);
    expect(lastSeen("GetBook").headers.get("x-mesh-service-token")).toBeNull();
    expect((await send(gatewayUrl, { path: "/v1/items/a1" })).status).toBe(200);
    expect(lastSeen("GetItem").headers.get("x-mesh-service-token")).toMatch(/^ey/);
  });

  it("serves its own StatusService over REST", async () => {
    const res = await send(gatewayUrl, { path: "/v1/status" });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ service: "gateway", instanceId: "gateway-rest-test" });
  });

  it("answers unknown routes and wrong methods itself", async () => {
    expect((await send(gatewayUrl, { path: "/v1/nope" })).status).toBe(404);
    const wrong = await send(gatewayUrl, { method: "DELETE", path: "/v1/items" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe("GET, POST");
  });

  it("serves /openapi.json from the same routes, with the protos' comments", async () => {
    const res = await send(gatewayUrl, { path: "/openapi.json" });
    expect(res.status).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { summary?: string }>> };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/v1/items/{id}"]!.get!.summary).toBe("Returns one item. Unknown and deleted ids fail with NOT_FOUND.");
    expect(doc.paths["/v1/{name}"]!.get!.summary).toBe("Returns one book. The name spans several segments: shelves/{shelf}/books/{book}.");
    expect(doc.paths["/v1/queues/{queue}:consume"]!.post).toBeDefined();
  });
});

describe("RPC protocols on the same port", () => {
  const transports: ReadonlyArray<readonly [string, () => Transport]> = [
    ["Connect over HTTP/1.1", () => createConnectTransport({ baseUrl: gatewayUrl, httpVersion: "1.1" })],
    ["Connect over HTTP/2", () => createConnectTransport({ baseUrl: gatewayUrl, httpVersion: "2", sessionManager: session() })],
    ["gRPC", () => createGrpcTransport({ baseUrl: gatewayUrl, sessionManager: session() })],
    ["gRPC-Web", () => createGrpcWebTransport({ baseUrl: gatewayUrl, httpVersion: "1.1" })],
  ];

  it.each(transports)("%s reaches DataService and the descriptor-set LibraryService", async (_name, transport) => {
    const t = transport();
    const answer = await createClient(DataService, t).getItem({ id: "rpc-1" });
    expect(answer.item?.name).toBe("item rpc-1");
    const libraryClient = createClient(library, t) as unknown as { getBook(request: object): Promise<unknown> };
    const book = await libraryClient.getBook({ name: "shelves/1/books/2" });
    expect(book).toMatchObject({ name: "shelves/1/books/2", title: "Dune" });
  });
});

describe("buf curl against the gateway", () => {
  it("lists the proxied services, the descriptor-set one included", async () => {
    const result = await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", "--list-services", gatewayUrl]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual(
      expect.arrayContaining(["mesh.data.v1.DataService", "mesh.queue.v1.QueueService", "transcode.library.v1.LibraryService"]),
    );
  });

  it.each(["grpc", "connect"])("calls DataService/GetItem and LibraryService/GetBook over %s, schemas from reflection", async (protocol) => {
    const item = await bufCurl(["--protocol", protocol, "--http2-prior-knowledge", "--data", '{"id":"curl"}', `${gatewayUrl}/mesh.data.v1.DataService/GetItem`]);
    expect(item.stderr).toBe("");
    expect(JSON.parse(item.stdout)).toMatchObject({ item: { id: "curl", name: "item curl" } });
    const book = await bufCurl([
      "--protocol",
      protocol,
      "--http2-prior-knowledge",
      "--data",
      '{"name":"shelves/9/books/9"}',
      `${gatewayUrl}/transcode.library.v1.LibraryService/GetBook`,
    ]);
    expect(book.stderr).toBe("");
    expect(JSON.parse(book.stdout)).toEqual({ name: "shelves/9/books/9", title: "Dune" });
  });
});

describe("start-up failures", () => {
  async function startAndFail(env: Record<string, string>): Promise<string> {
    const dir = await createTempDir("gateway-fail");
    try {
      const child = spawnManaged({
        command: process.execPath,
        args: [join(root, "services/gateway/src/main.ts")],
        env: { PATH: process.env.PATH ?? "", PORT: String(await getFreePort()), UPSTREAMS: upstream.url, ...env },
        logFile: join(dir.path, "gateway.log"),
        stopSignal: "SIGTERM",
        searchPath: process.env.PATH ?? "",
      });
      const status = await child.exited;
      expect(status.code).toBe(1);
      return child.readLog();
    } finally {
      await dir.remove();
    }
  }

  it("reports conflicting routes and refuses to start", async () => {
    const examples = await buildDescriptorSet(["test/protos/transcode/examples"]);
    try {
      const log = await startAndFail({ DESCRIPTOR_SETS: examples.path });
      expect(log).toContain("invalid HTTP routes:");
      expect(log).toContain(
        "GET /v1/messages/{message_id} (transcode.examples.v1.MessagingWithQuery.GetMessage) conflicts with GET /v1/{name=messages/*} (transcode.examples.v1.MessagingByName.GetMessage): both match GET /v1/messages/*",
      );
    } finally {
      await examples.remove();
    }
  });

  it("names a descriptor set it cannot read", async () => {
    const log = await startAndFail({ DESCRIPTOR_SETS: "/nonexistent/set.binpb" });
    expect(log).toContain("cannot read descriptor set /nonexistent/set.binpb");
  });
});
