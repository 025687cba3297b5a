import http2 from "node:http2";
import net from "node:net";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { Registry } from "prom-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DataService } from "../../gen/mesh/data/v1/data_pb.ts";
import { InfraError } from "../infra/infra-error.ts";
import { createLogger } from "../logging/create-logger.ts";
import { createRpcMetrics } from "../metrics/rpc-metrics.ts";
import type { HttpRequest } from "./http-exchange.ts";
import { createMeshServer, type MeshServer } from "./mesh-server.ts";

const logger = createLogger({ service: "mesh-server-test", instance: "test", level: "silent" });
const connections: Http2SessionManager[] = [];

function session(baseUrl: string): Http2SessionManager {
  const manager = new Http2SessionManager(baseUrl);
  connections.push(manager);
  return manager;
}

/** A promise with its resolve function, for the test to release a handler. */
function latch(): { promise: Promise<void>; release: () => void } {
  let release = (): void => {};
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

interface TestServer {
  server: MeshServer;
  /** HTTP versions of the requests seen, in order ("1.1" or "2.0"). */
  versions: string[];
  /** Released by the test to let a GetItem "slow" finish. */
  slow: ReturnType<typeof latch>;
  /** Resolves when a GetItem "hang" sees its signal abort. */
  hangAborted: Promise<void>;
}

/**
 * A small DataService: GetItem echoes the id; "slow" waits for the test's latch; "hang" waits for its signal;
 * "missing" is NotFound. Metrics and a recorder of HTTP versions are wired as the services wire them.
 */
async function startTestServer(): Promise<TestServer> {
  const versions: string[] = [];
  const slow = latch();
  const aborted = latch();
  const registry = new Registry();
  const metrics = createRpcMetrics(registry);
  const server = createMeshServer({
    logger,
    metrics: registry,
    interceptors: [metrics.interceptor],
    httpHandlers: [
      function recordVersion(req: HttpRequest) {
        versions.push(req.httpVersion);
        return false;
      },
    ],
    routes(router) {
      router.service(DataService, {
        async getItem(req, ctx) {
          if (req.id === "slow") await slow.promise;
          if (req.id === "hang") {
            await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
            aborted.release();
            throw new ConnectError("cancelled", Code.Canceled);
          }
          if (req.id === "missing") throw new ConnectError('item "missing" not found', Code.NotFound);
          return { item: { id: req.id, name: `item ${req.id}` } };
        },
      });
    },
  });
  await server.listen();
  return { server, versions, slow, hangAborted: aborted.promise };
}

const transports: ReadonlyArray<readonly [string, "1.1" | "2.0", (baseUrl: string) => Transport]> = [
  ["Connect over HTTP/1.1", "1.1", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
  ["Connect over HTTP/2", "2.0", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", sessionManager: session(baseUrl) })],
  ["gRPC", "2.0", (baseUrl) => createGrpcTransport({ baseUrl, sessionManager: session(baseUrl) })],
  ["gRPC-Web over HTTP/1.1", "1.1", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
  ["gRPC-Web over HTTP/2", "2.0", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2", sessionManager: session(baseUrl) })],
];

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ECONNREFUSED"));
  });
}

afterEach(() => {
  for (const connection of connections.splice(0)) connection.abort();
});

describe("one port, both HTTP versions, every protocol", () => {
  let test: TestServer;

  beforeAll(async () => {
    test = await startTestServer();
  });

  afterAll(async () => {
    expect(await test.server.close(1000)).toBe(0);
  });

  it.each(transports)("answers %s", async (_name, httpVersion, transport) => {
    const seenBefore = test.versions.length;
    const answer = await createClient(DataService, transport(test.server.url)).getItem({ id: "a-1" });
    expect(answer.item).toMatchObject({ id: "a-1", name: "item a-1" });
    expect(test.versions.slice(seenBefore)).toEqual([httpVersion]);
  });

  it.each(transports)("gives errors their code over %s", async (_name, _version, transport) => {
    const error = await createClient(DataService, transport(test.server.url))
      .getItem({ id: "missing" })
      .then(() => undefined, (err: unknown) => ConnectError.from(err));
    expect(error?.code).toBe(Code.NotFound);
    expect(error?.rawMessage).toBe('item "missing" not found');
  });

  it("serves Prometheus text at GET /metrics over HTTP/1.1, counting the calls made", async () => {
    await createClient(DataService, createConnectTransport({ baseUrl: test.server.url, httpVersion: "1.1" })).getItem({ id: "counted" });
    const response = await fetch(`${test.server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain("# TYPE rpc_server_requests_total counter");
    expect(text).toMatch(/^rpc_server_requests_total\{rpc_service="mesh\.data\.v1\.DataService",rpc_method="GetItem",code="ok"\} [1-9]\d*$/m);
    expect(text).toMatch(/^rpc_server_requests_total\{rpc_service="mesh\.data\.v1\.DataService",rpc_method="GetItem",code="not_found"\} [1-9]\d*$/m);
  });

  it("serves GET /metrics over HTTP/2 too", async () => {
    const client = http2.connect(test.server.url);
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = client.request({ ":method": "GET", ":path": "/metrics" });
        let status = 0;
        let body = "";
        stream.on("response", (headers) => (status = Number(headers[":status"])));
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => (body += chunk));
        stream.on("end", () => resolve({ status, body }));
        stream.on("error", reject);
        stream.end();
      });
      expect(status).toBe(200);
      expect(body).toContain("rpc_server_requests_total{");
    } finally {
      client.close();
    }
  });

  it("answers other paths with a JSON 404", async () => {
    const response = await fetch(`${test.server.url}/nothing/here/at/all`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ code: "not_found", message: "no route for GET /nothing/here/at/all" });
  });

  it("explains a port that is in use", async () => {
    const other = createMeshServer({ logger, port: test.server.port, routes() {} });
    const error = await other.listen().then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(InfraError);
    expect((error as InfraError).message).toContain(`port ${test.server.port}`);
  });
});

describe("close(grace)", () => {
  it.each([
    ["HTTP/1.1", (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
    ["HTTP/2", (baseUrl: string) => createGrpcTransport({ baseUrl, sessionManager: session(baseUrl) })],
  ] as const)("lets an in-flight call over %s finish, refuses new connections, and cuts none", async (_name, transport) => {
    const test = await startTestServer();
    const call = createClient(DataService, transport(test.server.url)).getItem({ id: "slow" });
    while (test.server.inFlight === 0) await new Promise((r) => setTimeout(r, 5));

    const closing = test.server.close(30_000);
    expect(await connectionRefused(test.server.port)).toBe(true);
    test.slow.release();

    expect((await call).item?.id).toBe("slow");
    expect(await closing).toBe(0);
    expect(test.server.inFlight).toBe(0);
  });

  it("cuts the calls still running when the grace period ends, and says how many", async () => {
    const test = await startTestServer();
    const client = createClient(DataService, createGrpcTransport({ baseUrl: test.server.url, sessionManager: session(test.server.url) }));
    const h1Client = createClient(DataService, createConnectTransport({ baseUrl: test.server.url, httpVersion: "1.1" }));
    const calls = [client.getItem({ id: "hang" }), h1Client.getItem({ id: "hang" })].map((call) =>
      call.then(() => undefined, (err: unknown) => ConnectError.from(err)),
    );
    while (test.server.inFlight < 2) await new Promise((r) => setTimeout(r, 5));

    expect(await test.server.close(50)).toBe(2);
    for (const error of await Promise.all(calls)) expect(error).toBeInstanceOf(ConnectError);
    // The handlers learn of it through their signal.
    await test.hangAborted;
  });

  it("with nothing in flight closes at once and cuts none", async () => {
    const test = await startTestServer();
    await createClient(DataService, createGrpcTransport({ baseUrl: test.server.url, sessionManager: session(test.server.url) })).getItem({ id: "x" });
    await createClient(DataService, createConnectTransport({ baseUrl: test.server.url, httpVersion: "1.1" })).getItem({ id: "y" });
    expect(await test.server.close(30_000)).toBe(0);
    expect(await connectionRefused(test.server.port)).toBe(true);
  });
});
