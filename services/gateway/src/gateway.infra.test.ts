import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../../gen/google/rpc/error_details_pb.ts";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../../gen/grpc/health/v1/health_pb.ts";
import { DataService } from "../../../gen/mesh/data/v1/data_pb.ts";
import { StatusService } from "../../../gen/mesh/health/v1/status_pb.ts";
import { QueueService } from "../../../gen/mesh/queue/v1/queue_pb.ts";
import { invalidArgument } from "../../../lib/errors/connect-errors.ts";
import { getFreePort } from "../../../lib/infra/free-port.ts";
import { createLogger } from "../../../lib/logging/create-logger.ts";
import { createMeshServer, type MeshServer } from "../../../lib/server/mesh-server.ts";
import { bufCurl, spawnService, startService, stopAllServices, type SpawnedService } from "../../../test/spawn-service.ts";

/** What the upstream saw of each GetItem call. */
interface SeenCall {
  id: string;
  header: Headers;
  timeoutMs: number | undefined;
}

const seen: SeenCall[] = [];
/** GetItem "hang" calls the upstream is holding now. */
let hanging = 0;
const connections: Http2SessionManager[] = [];
const logger = createLogger({ service: "gateway-test-upstream", instance: "upstream-1", level: "silent" });

/** A partial DataService and QueueService, in this test process: the gateway's only backend. */
function createUpstream(): MeshServer {
  return createMeshServer({
    logger,
    routes(router) {
      router.service(DataService, {
        async getItem(req, ctx) {
          seen.push({ id: req.id, header: ctx.requestHeader, timeoutMs: ctx.timeoutMs() });
          if (req.id === "missing") throw new ConnectError('item "missing" not found', Code.NotFound);
          if (req.id === "bad") throw invalidArgument("id", "must be a UUID");
          if (req.id === "hang") {
            hanging++;
            await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
            hanging--;
            throw new ConnectError("cut off", Code.Canceled);
          }
          ctx.responseHeader.set("x-upstream", "header");
          ctx.responseTrailer.set("x-upstream-trailer", "trailer");
          return { item: { id: req.id, name: `item ${req.id}` } };
        },
      });
      router.service(QueueService, {
        async *consume(req) {
          for (let i = 1; i <= 3; i++) yield { message: { message: { id: `${req.queue}-${i}` }, leaseToken: `token-${i}` } };
          if (req.consumer === "fail") throw new ConnectError("queue is gone", Code.FailedPrecondition);
        },
      });
    },
  });
}

/** Every client protocol the gateway accepts, on the HTTP versions each supports. */
const transports: ReadonlyArray<readonly [string, (baseUrl: string) => Transport]> = [
  ["Connect JSON over HTTP/1.1", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
  ["Connect binary over HTTP/1.1", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true })],
  ["Connect JSON over HTTP/2", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", sessionManager: session(baseUrl) })],
  ["gRPC", (baseUrl) => createGrpcTransport({ baseUrl, sessionManager: session(baseUrl) })],
  ["gRPC-Web over HTTP/1.1", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
  ["gRPC-Web over HTTP/2", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2", sessionManager: session(baseUrl) })],
];

function session(baseUrl: string): Http2SessionManager {
  const manager = new Http2SessionManager(baseUrl);
  connections.push(manager);
  return manager;
}

function client<T extends DescService>(service: T, transport: Transport): Client<T> {
  return createClient(service, transport);
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the call succeeded");
}

afterAll(async () => {
  for (const connection of connections.splice(0)) connection.abort();
  await stopAllServices();
});

describe("configuration errors", () => {
  it.each([
    ["UPSTREAMS is not http", { UPSTREAMS: "ftp://x" }, ["UPSTREAMS", "http://", '"ftp://x"']],
    ["UPSTREAMS is missing", {}, ["UPSTREAMS", "is required", "http://127.0.0.1:4001"]],
    ["UPSTREAMS holds only commas", { UPSTREAMS: " , " }, ["UPSTREAMS", "at least one URL"]],
    ["one of the UPSTREAMS is not a URL", { UPSTREAMS: "http://127.0.0.1:4001,localhost" }, ["UPSTREAMS", '"localhost"']],
    ["CONTROL_URL is not a URL", { UPSTREAMS: "http://127.0.0.1:4001", CONTROL_URL: "control:8090" }, ["CONTROL_URL", "http://"]],
  ] as const)("exits with code 1 when %s, naming the variable and the expected form", async (_label, env, expected) => {
    const gateway = await spawnService({ name: "gateway", env });
    expect(await gateway.exited).toEqual({ code: 1, signal: null });
    const stderr = gateway.output().stderr.join("\n");
    expect(stderr).toContain("gateway: invalid configuration");
    for (const text of expected) expect(stderr).toContain(text);
  });
});

describe("pass-through to a live upstream", () => {
  let upstream: MeshServer;
  let upstreamOpen = false;
  let gateway: SpawnedService;

  beforeAll(async () => {
    upstream = createUpstream();
    upstreamOpen = true;
    await upstream.listen();
    gateway = await startService({ name: "gateway", env: { UPSTREAMS: upstream.url, INSTANCE_ID: "gateway-test" } });
  });

  afterAll(async () => {
    if (gateway) expect(await gateway.stop()).toEqual({ code: 0, signal: null });
    if (upstreamOpen) await upstream.close(0);
  });

  describe.each(transports)("%s", (_name, transport) => {
    it("reaches the upstream with the caller's headers, and brings back its answer and headers", async () => {
      const traceId = crypto.randomUUID().replaceAll("-", "");
      const id = `item-${crypto.randomUUID()}`;
      const headers = new Map<string, string>();
      const trailers = new Map<string, string>();
      const answer = await client(DataService, transport(gateway.url)).getItem(
        { id },
        {
          headers: { "x-test": "pass-through", traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
          timeoutMs: 20_000,
          onHeader: (h) => h.forEach((value, key) => headers.set(key, value)),
          onTrailer: (t) => t.forEach((value, key) => trailers.set(key, value)),
        },
      );
      expect(answer.item).toMatchObject({ id, name: `item ${id}` });
      expect(headers.get("x-upstream")).toBe("header");
      expect(trailers.get("x-upstream-trailer")).toBe("trailer");

      const call = seen.find((s) => s.id === id);
      expect(call?.header.get("x-test")).toBe("pass-through");
      // The trace continues: the same trace id, whether or not the gateway adds a span of its own.
      expect(call?.header.get("traceparent")).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));
      // The deadline travels too (connect-timeout-ms or grpc-timeout).
      expect(call?.timeoutMs).toBeGreaterThan(0);
      expect(call?.timeoutMs).toBeLessThanOrEqual(20_000);
    });

    it("passes the upstream's NotFound through with its code and message", async () => {
      const error = await failure(client(DataService, transport(gateway.url)).getItem({ id: "missing" }));
      expect(error.code).toBe(Code.NotFound);
      expect(error.rawMessage).toBe('item "missing" not found');
    });

    it("passes InvalidArgument through with its field violations", async () => {
      const error = await failure(client(DataService, transport(gateway.url)).getItem({ id: "bad" }));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(["id"]);
    });

    it("streams every message of a server stream, in order", async () => {
      const ids: string[] = [];
      for await (const response of client(QueueService, transport(gateway.url)).consume({ queue: "jobs" })) {
        ids.push(response.message?.message?.id ?? "");
      }
      expect(ids).toEqual(["jobs-1", "jobs-2", "jobs-3"]);
    });

    it("ends a server stream with the upstream's error after its messages", async () => {
      const ids: string[] = [];
      const error = await failure(
        (async () => {
          for await (const response of client(QueueService, transport(gateway.url)).consume({ queue: "q", consumer: "fail" })) {
            ids.push(response.message?.message?.id ?? "");
          }
        })(),
      );
      expect(ids).toEqual(["q-1", "q-2", "q-3"]);
      expect(error.code).toBe(Code.FailedPrecondition);
    });
  });

  it("answers for services it does not route itself (its own status) without the upstream", async () => {
    const status = await client(StatusService, createGrpcTransport({ baseUrl: gateway.url, sessionManager: session(gateway.url) })).getStatus({});
    expect(status.service).toBe("gateway");
    expect(status.instanceId).toBe("gateway-test");
  });

  describe("buf curl as an outside client", () => {
    it("lists the gateway's own services and the ones it proxies", async () => {
      const result = await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", "--list-services", gateway.url]);
      expect(result.stderr).toBe("");
      expect(result.exitCode).toBe(0);
      expect(result.stdout.trim().split("\n")).toEqual(
        expect.arrayContaining([
          "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
          "grpc.reflection.v1alpha.ServerReflection",
          "mesh.data.v1.DataService",
          "mesh.health.v1.StatusService",
          "mesh.queue.v1.QueueService",
        ]),
      );
    });

    it("lists the methods of a proxied service", async () => {
      const result = await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", gateway.url]);
      expect(result.exitCode).toBe(0);
      expect(result.stdout.trim().split("\n")).toEqual(
        expect.arrayContaining(["mesh.data.v1.DataService/GetItem", "mesh.data.v1.DataService/ListItems", "mesh.queue.v1.QueueService/Consume"]),
      );
    });

    it.each(["grpc", "connect"])("calls grpc.health.v1.Health/Check over %s", async (protocol) => {
      const result = await bufCurl(["--protocol", protocol, "--http2-prior-knowledge", `${gateway.url}/grpc.health.v1.Health/Check`]);
      expect(result.stderr).toBe("");
      expect(result.exitCode).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ status: "SERVING" });
    });

    it.each(["grpc", "connect"])("calls a proxied method over %s", async (protocol) => {
      const result = await bufCurl([
        "--protocol",
        protocol,
        "--http2-prior-knowledge",
        "--data",
        '{"id":"from-buf"}',
        `${gateway.url}/mesh.data.v1.DataService/GetItem`,
      ]);
      expect(result.stderr).toBe("");
      expect(JSON.parse(result.stdout)).toEqual({ item: { id: "from-buf", name: "item from-buf" } });
    });
  });

  describe("when the upstream goes away", () => {
    // An upstream that ends a stream without answering (its process died, or its grace period ran out).
    it("answers Unavailable to the calls in flight when the upstream dies mid-call, in every protocol", async () => {
      const calls = transports.map(([, transport]) =>
        client(DataService, transport(gateway.url))
          .getItem({ id: "hang" }, { timeoutMs: 20_000 })
          .then(() => "answered", (err: unknown) => Code[ConnectError.from(err).code]),
      );
      try {
        while (hanging < transports.length) await new Promise((r) => setTimeout(r, 10));
      } finally {
        upstreamOpen = false;
        await upstream.close(0);
      }
      expect(await Promise.all(calls)).toEqual(transports.map(() => "Unavailable"));
    });

    it.each(transports)("answers Unavailable in the caller's protocol: %s", async (_name, transport) => {
      // Run last in this block: the upstream is closed for good by the first case.
      if (upstreamOpen) {
        upstreamOpen = false;
        await upstream.close(0);
      }
      const error = await failure(client(DataService, transport(gateway.url)).getItem({ id: "after" }));
      expect(error.code).toBe(Code.Unavailable);
      const health = await client(Health, createGrpcTransport({ baseUrl: gateway.url, sessionManager: session(gateway.url) })).check({});
      expect(health.status).toBe(Serving.SERVING);
    });
  });
});

describe("pass-through with no upstream listening", () => {
  let gateway: SpawnedService;

  beforeAll(async () => {
    const nobody = `http://127.0.0.1:${await getFreePort()}`;
    gateway = await startService({ name: "gateway", env: { UPSTREAMS: nobody, INSTANCE_ID: "gateway-alone-test" } });
  });

  afterAll(async () => {
    if (gateway) expect(await gateway.stop()).toEqual({ code: 0, signal: null });
  });

  describe.each(transports)("%s", (_name, transport) => {
    it("gets Unavailable for a unary call", async () => {
      const error = await failure(client(DataService, transport(gateway.url)).getItem({ id: "x" }));
      expect(error.code).toBe(Code.Unavailable);
    });

    it("gets Unavailable for a server stream", async () => {
      const error = await failure(
        (async () => {
          for await (const _ of client(QueueService, transport(gateway.url)).consume({ queue: "q" })) {
            // no message can arrive
          }
        })(),
      );
      expect(error.code).toBe(Code.Unavailable);
    });
  });
});
