import http2 from "node:http2";
import net from "node:net";
import { create, type DescService } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../../gen/google/rpc/error_details_pb.ts";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../../gen/grpc/health/v1/health_pb.ts";
import { FaultSchema, FaultService } from "../../../gen/mesh/chaos/v1/fault_pb.ts";
import { ConnectionState, OverallStatus, StatusService } from "../../../gen/mesh/health/v1/status_pb.ts";
import { startLocalRedis, type LocalRedis } from "../../../lib/infra/local-redis.ts";
import { infraUrls } from "../../../test/infra-context.ts";
import { testKeyPrefix } from "../../../test/test-redis.ts";
import {
  bufCurl,
  databaseUrlInSchema,
  spawnService,
  startService,
  stopAllServices,
  type SpawnedService,
} from "../../../test/spawn-service.ts";
import { createTempDir } from "../../../test/temp-dir.ts";
import { createTestSchema, type TestSchema } from "../../../test/test-schema.ts";

const getStatus = "mesh.health.v1.StatusService/GetStatus";

/** HTTP/2 connections the test opened; each client below has one of its own. */
const connections: Http2SessionManager[] = [];

function grpcClient<T extends DescService>(service: T, url: string): Client<T> {
  const sessionManager = new Http2SessionManager(url);
  connections.push(sessionManager);
  return createClient(service, createGrpcTransport({ baseUrl: url, sessionManager }));
}

function connectClient<T extends DescService>(service: T, url: string): Client<T> {
  const sessionManager = new Http2SessionManager(url);
  connections.push(sessionManager);
  return createClient(service, createConnectTransport({ baseUrl: url, httpVersion: "2", sessionManager }));
}

let schema: TestSchema;
/** This file's backends keep their Valkey keys apart from other files' with this prefix. */
const keyPrefix = testKeyPrefix("backend");

/** A backend on the run's PostgreSQL (in this file's schema) and, unless given, the run's Redis. */
function backendEnv(extra: Record<string, string> = {}): Record<string, string> {
  const { databaseUrl, redisUrl } = infraUrls();
  return {
    DATABASE_URL: databaseUrlInSchema(databaseUrl, schema.schema),
    REDIS_URL: redisUrl,
    INSTANCE_ID: "backend-test",
    HEALTH_CHECK_INTERVAL_MS: "200",
    CACHE_KEY_PREFIX: keyPrefix,
    ...extra,
  };
}

/** Injects a latency fault on GetStatus only, so the call can be held in flight while health stays quick. */
async function slowDownGetStatus(url: string, delayMs: number): Promise<void> {
  await grpcClient(FaultService, url).injectFault({
    fault: create(FaultSchema, {
      spec: { case: "latency", value: { delay: durationFromMs(delayMs) } },
      duration: durationFromMs(60_000),
      methods: [getStatus],
      source: "backend.infra.test",
    }),
  });
}

/** Resolves once the server counts a GetStatus call in flight (its metrics are plain HTTP, untouched by faults). */
async function untilGetStatusInFlight(url: string): Promise<void> {
  const inFlight = /^rpc_server_in_flight\{(?=[^}]*rpc_method="GetStatus")[^}]*\} 1$/m;
  let text = "";
  for (let attempt = 0; attempt < 500; attempt++) {
    text = await (await fetch(`${url}/metrics`)).text();
    if (inFlight.test(text)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no GetStatus in flight:\n${text.split("\n").filter((line) => line.startsWith("rpc_server_in_flight")).join("\n")}`);
}

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

beforeAll(async () => {
  schema = await createTestSchema("backend");
});

afterAll(async () => {
  for (const connection of connections.splice(0)) connection.abort();
  await stopAllServices();
  await schema.drop();
});

describe("configuration errors", () => {
  it.each([
    ["PORT is not a number", { PORT: "http" }, ["PORT", "expected an integer from 0 to 65535", '"http"']],
    ["PORT is out of range", { PORT: "70000" }, ["PORT", "expected an integer from 0 to 65535", '"70000"']],
    ["DATABASE_URL is missing", { DATABASE_URL: undefined }, ["DATABASE_URL", "postgres://"]],
    ["DATABASE_URL is not postgres", { DATABASE_URL: "mysql://localhost/db" }, ["DATABASE_URL", "postgres://", '"mysql://localhost/db"']],
    ["REDIS_URL is not a URL", { REDIS_URL: "localhost:6379" }, ["REDIS_URL", "redis://"]],
    ["HEALTH_CHECK_INTERVAL_MS is too small", { HEALTH_CHECK_INTERVAL_MS: "5" }, ["HEALTH_CHECK_INTERVAL_MS", "from 100 to 600000"]],
    ["ERROR_RATE is above 1", { ERROR_RATE: "1.5" }, ["ERROR_RATE", "from 0 to 1"]],
  ] as const)("exits with code 1 when %s, naming the variable and the expected form", async (_label, overrides, expected) => {
    const backend = await spawnService({ name: "backend", env: { ...backendEnv(), ...overrides } });
    expect(await backend.exited).toEqual({ code: 1, signal: null });
    const stderr = backend.output().stderr.join("\n");
    expect(stderr).toContain("backend: invalid configuration");
    for (const text of expected) expect(stderr).toContain(text);
  });

  it("lists every bad variable at once", async () => {
    const backend = await spawnService({
      name: "backend",
      env: { PORT: "http", DATABASE_URL: "", REDIS_URL: "nope", SHUTDOWN_GRACE_MS: "-1" },
    });
    expect((await backend.exited).code).toBe(1);
    const problems = backend.output().stderr.filter((line) => line.startsWith("  - "));
    expect(problems.map((line) => line.slice(4).split(":")[0]).sort()).toEqual(
      ["DATABASE_URL", "PORT", "REDIS_URL", "SHUTDOWN_GRACE_MS"],
    );
  });
});

describe("a running backend", () => {
  let backend: SpawnedService;

  beforeAll(async () => {
    backend = await startService({ name: "backend", env: backendEnv() });
  });

  afterAll(async () => {
    if (backend) expect(await backend.stop()).toEqual({ code: 0, signal: null });
  });

  describe("buf curl as an outside client", () => {
    it("lists the services through reflection", async () => {
      const result = await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", "--list-services", backend.url]);
      expect(result.stderr).toBe("");
      expect(result.exitCode).toBe(0);
      const services = result.stdout.trim().split("\n");
      expect(services).toEqual(
        expect.arrayContaining([
          "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
          "grpc.reflection.v1alpha.ServerReflection",
          "mesh.chaos.v1.FaultService",
          "mesh.health.v1.StatusService",
        ]),
      );
      expect(services).toEqual([...services].sort());
    });

    it("lists the methods of FaultService", async () => {
      const result = await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", backend.url]);
      expect(result.exitCode).toBe(0);
      const methods = result.stdout.trim().split("\n");
      expect(methods.filter((m) => m.startsWith("mesh.chaos.v1.FaultService/"))).toEqual([
        "mesh.chaos.v1.FaultService/ClearFault",
        "mesh.chaos.v1.FaultService/ClearFaults",
        "mesh.chaos.v1.FaultService/InjectFault",
        "mesh.chaos.v1.FaultService/ListFaults",
      ]);
      expect(methods).toContain(getStatus);
    });

    it.each(["grpc", "connect"])("calls grpc.health.v1.Health/Check over %s", async (protocol) => {
      const result = await bufCurl(["--protocol", protocol, "--http2-prior-knowledge", `${backend.url}/grpc.health.v1.Health/Check`]);
      expect(result.stderr).toBe("");
      expect(result.exitCode).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ status: "SERVING" });
    });

    it("calls StatusService/GetStatus, whose schema it learns through reflection", async () => {
      const result = await bufCurl(["--protocol", "connect", "--http2-prior-knowledge", `${backend.url}/${getStatus}`]);
      expect(result.exitCode).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({
        status: "OVERALL_STATUS_OPERATIONAL",
        service: "backend",
        instanceId: "backend-test",
        database: { state: "CONNECTION_STATE_CONNECTED" },
        cache: { state: "CONNECTION_STATE_CONNECTED" },
      });
    });

    it("gets InvalidArgument naming the field, as exit code 3 << 3", async () => {
      const result = await bufCurl([
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "--data",
        '{"fault":{"hang":{"rate":2},"duration":"60s"}}',
        `${backend.url}/mesh.chaos.v1.FaultService/InjectFault`,
      ]);
      expect(result.exitCode).toBe(Code.InvalidArgument << 3);
      expect(result.stderr).toContain("invalid_argument");
      expect(result.stderr).toContain("fault.hang.rate");
    });
  });

  describe("malformed requests", () => {
    const injectPath = "/mesh.chaos.v1.FaultService/InjectFault";

    /** A Connect unary call over HTTP/1.1, as curl would send it. */
    async function postJson(path: string, body: string): Promise<{ status: number; body: { code?: string; message?: string; details?: unknown[] } }> {
      const response = await fetch(`${backend.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "connect-protocol-version": "1" },
        body,
      });
      return { status: response.status, body: (await response.json()) as { code?: string; message?: string } };
    }

    /** A raw gRPC call over HTTP/2: the status from the trailers (or headers, for trailers-only answers). */
    function rawGrpc(path: string, body: Buffer): Promise<{ grpcStatus: string | undefined; grpcMessage: string }> {
      return new Promise((resolve, reject) => {
        const session = http2.connect(backend.url);
        session.on("error", reject);
        const stream = session.request({
          ":method": "POST",
          ":path": path,
          "content-type": "application/grpc",
          te: "trailers",
        });
        let headers: http2.IncomingHttpHeaders = {};
        stream.on("response", (h) => (headers = h));
        stream.on("trailers", (t) => (headers = { ...headers, ...t }));
        stream.on("data", () => {});
        stream.on("error", reject);
        stream.on("close", () => {
          session.close();
          resolve({
            grpcStatus: headers["grpc-status"] as string | undefined,
            grpcMessage: decodeURIComponent(String(headers["grpc-message"] ?? "")),
          });
        });
        stream.end(body);
      });
    }

    function grpcFrame(payload: Buffer, declaredLength = payload.length): Buffer {
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(declaredLength, 1);
      return Buffer.concat([prefix, payload]);
    }

    it("answers invalid JSON with HTTP 400 invalid_argument", async () => {
      const answer = await postJson(injectPath, "{not json");
      expect(answer.status).toBe(400);
      expect(answer.body.code).toBe("invalid_argument");
    });

    it.each([
      ['{"fault":{"errorRate":{"rate":"abc"}}}', "mesh.chaos.v1.ErrorRateFault.rate"],
      ['{"fault":{"methods":"x"}}', "mesh.chaos.v1.Fault.methods"],
      // Unknown keys are ignored (forward compatibility), so validation names what is missing.
      ['{"fault":{"nope":1}}', "fault.spec"],
      ['{"fault":{"duration":"forever"}}', "google.protobuf.Duration"],
    ])("answers JSON of the wrong shape, %s, with HTTP 400 naming %s", async (body, named) => {
      const answer = await postJson(injectPath, body);
      expect(answer.status).toBe(400);
      expect(answer.body.code).toBe("invalid_argument");
      expect(answer.body.message).toContain(named);
    });

    it("names every out-of-range field, in the message and in a BadRequest detail", async () => {
      const answer = await postJson(
        injectPath,
        JSON.stringify({ fault: { errorRate: { rate: 2, code: 99 }, duration: "0.5s", methods: ["not a method"] } }),
      );
      expect(answer.status).toBe(400);
      expect(answer.body.code).toBe("invalid_argument");
      for (const field of ["fault.error_rate.rate", "fault.error_rate.code", "fault.duration", "fault.methods[0]"]) {
        expect(answer.body.message).toContain(field);
      }
      expect(answer.body.details).toEqual([expect.objectContaining({ type: "google.rpc.BadRequest" })]);
    });

    it("gives a generated client the field violations", async () => {
      const faults = grpcClient(FaultService, backend.url);
      const error = await faults
        .injectFault({ fault: create(FaultSchema, { spec: { case: "latency", value: {} }, duration: durationFromMs(1000) }) })
        .then(() => undefined, (err: unknown) => ConnectError.from(err));
      expect(error?.code).toBe(Code.InvalidArgument);
      const [badRequest] = error!.findDetails(BadRequestSchema);
      expect(badRequest?.fieldViolations.map((v) => v.field)).toEqual(["fault.latency.delay"]);
    });

    it("answers InvalidArgument when the request is missing its fault", async () => {
      const answer = await postJson(injectPath, "{}");
      expect(answer.status).toBe(400);
      expect(answer.body.message).toContain("fault");
    });

    // connect-es says Internal for a body that is not protobuf; lib/server/parse-errors-as-invalid-argument.ts
    // makes it the caller's mistake.
    it("answers a garbage body in gRPC framing with grpc-status 3", async () => {
      const answer = await rawGrpc(injectPath, grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff])));
      expect(answer.grpcStatus).toBe(String(Code.InvalidArgument));
    });

    it("answers a garbage Connect binary body with HTTP 400 invalid_argument", async () => {
      const response = await fetch(`${backend.url}${injectPath}`, {
        method: "POST",
        headers: { "content-type": "application/proto", "connect-protocol-version": "1" },
        body: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]),
      });
      expect(response.status).toBe(400);
    });

    it("answers a garbage body with an error status and no detail of the server's internals", async () => {
      const answer = await rawGrpc(injectPath, grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff])));
      expect(answer.grpcStatus).toMatch(/^[1-9]\d*$/);
      expect(answer.grpcMessage).not.toMatch(/\bat .*\.(ts|js):\d+/);
    });

    it("answers a truncated gRPC frame with an error status, not a crash", async () => {
      const answer = await rawGrpc(injectPath, grpcFrame(Buffer.from([0x0a, 0x02]), 100));
      expect(answer.grpcStatus).toBe(String(Code.InvalidArgument));
    });

    it("answers an unknown RPC with grpc-status 12 over gRPC", async () => {
      for (const path of ["/mesh.nope.v1.Nope/Get", "/mesh.chaos.v1.FaultService/Nope"]) {
        const answer = await rawGrpc(path, grpcFrame(Buffer.alloc(0)));
        expect(answer.grpcStatus).toBe(String(Code.Unimplemented));
        expect(answer.grpcMessage).toContain(path.slice(1));
      }
    });

    it("answers an unknown RPC with HTTP 501 unimplemented over Connect", async () => {
      const answer = await postJson("/mesh.nope.v1.Nope/Get", "{}");
      expect(answer.status).toBe(501);
      expect(answer.body.code).toBe("unimplemented");
    });

    it("keeps serving after all of them", async () => {
      expect(backend.running).toBe(true);
      const answer = await grpcClient(Health, backend.url).check({ service: "" });
      expect(answer.status).toBe(Serving.SERVING);
      expect(backend.output().stderr).toEqual([]);
    });
  });
});

describe("health follows Valkey", () => {
  let redisDir: Awaited<ReturnType<typeof createTempDir>>;
  let redis: LocalRedis;
  let backend: SpawnedService;

  beforeAll(async () => {
    redisDir = await createTempDir("backend-redis");
    redis = await startLocalRedis({ dir: redisDir.path });
    backend = await startService({ name: "backend", env: backendEnv({ REDIS_URL: redis.url, INSTANCE_ID: "backend-redis-test" }) });
  });

  afterAll(async () => {
    await backend?.stop();
    await redis?.stop();
    await redisDir?.remove();
  });

  it("goes NOT_SERVING when Valkey stops and SERVING again when it is back", async () => {
    const health = grpcClient(Health, backend.url);
    const status = connectClient(StatusService, backend.url);
    const watching = new AbortController();
    const watch = health.watch({ service: "" }, { signal: watching.signal })[Symbol.asyncIterator]();
    const next = async () => {
      const { value, done } = await watch.next();
      expect(done).toBe(false);
      return value!.status;
    };
    try {
      expect((await health.check({ service: "" })).status).toBe(Serving.SERVING);
      expect(await next()).toBe(Serving.SERVING);

      await redis.stop();
      expect(await next()).toBe(Serving.NOT_SERVING);
      expect((await health.check({ service: "" })).status).toBe(Serving.NOT_SERVING);
      const down = await status.getStatus({});
      expect(down.cache?.state).toBe(ConnectionState.DISCONNECTED);
      expect(down.database?.state).toBe(ConnectionState.CONNECTED);
      expect(down.status).toBe(OverallStatus.DOWN);

      await redis.start();
      expect(await next()).toBe(Serving.SERVING);
      const up = await status.getStatus({});
      expect(up.cache?.state).toBe(ConnectionState.CONNECTED);
      expect(up.status).toBe(OverallStatus.OPERATIONAL);
    } finally {
      watching.abort();
    }
  });
});

describe("graceful shutdown", () => {
  it("on SIGTERM finishes the in-flight call, tells watchers NOT_SERVING, refuses new connections and exits 0", async () => {
    const backend = await startService({ name: "backend", env: backendEnv({ INSTANCE_ID: "backend-drain-test" }) });
    await slowDownGetStatus(backend.url, 2500);

    const watch = grpcClient(Health, backend.url).watch({ service: "" })[Symbol.asyncIterator]();
    expect((await watch.next()).value?.status).toBe(Serving.SERVING);
    const call = connectClient(StatusService, backend.url).getStatus({});
    // Awaited below; this only keeps an early failure from counting as an unhandled rejection meanwhile.
    call.catch(() => {});
    await untilGetStatusInFlight(backend.url);

    backend.signal("SIGTERM");
    const rest: Serving[] = [];
    for (let step = await watch.next(); !step.done; step = await watch.next()) rest.push(step.value.status);
    expect(rest).toEqual([Serving.NOT_SERVING]);
    // The server closes its listener right after it ends the Watch streams, before the drain.
    expect(await connectionRefused(backend.port)).toBe(true);

    const answer = await call;
    expect(answer.instanceId).toBe("backend-drain-test");
    // Readiness and status agree during a drain: NOT_SERVING there, DOWN here.
    expect(answer.status).toBe(OverallStatus.DOWN);

    expect(await backend.exitedWithin(20_000)).toEqual({ code: 0, signal: null });
    const messages = backend.logs().map((line) => line.msg);
    expect(messages).toContain("shutting down");
    const during = backend.logs().slice(messages.indexOf("shutting down"));
    expect(during.at(-1)?.msg).toBe("stopped");
    // Nothing was cut off and nothing failed on the way down.
    expect(during.filter((line) => line.level === "warn" || line.level === "error" || line.level === "fatal")).toEqual([]);
  });

  /**
   * Holds a call in flight for `delayMs`, sends `first`, waits until the drain began, then sends `second`.
   * Resolves with the exit and how the call ended.
   */
  async function secondSignalDuringDrain(first: NodeJS.Signals, second: NodeJS.Signals, delayMs: number) {
    const backend = await startService({
      name: "backend",
      env: backendEnv({ INSTANCE_ID: `backend-${first}-${second}-test`, SHUTDOWN_GRACE_MS: "60000" }),
    });
    await slowDownGetStatus(backend.url, delayMs);
    const giveUp = new AbortController();
    const call = connectClient(StatusService, backend.url)
      .getStatus({}, { signal: giveUp.signal })
      .then(() => "answered" as const, (err: unknown) => ConnectError.from(err));
    await untilGetStatusInFlight(backend.url);

    backend.signal(first);
    await backend.waitForLine(/"msg":"shutting down"/);
    backend.signal(second);
    const exit = await backend.exitedWithin(20_000);
    // connect-node does not always settle an HTTP/2 call whose server died after a GOAWAY: once the process
    // is gone the call can no longer be answered, so settle it from here.
    giveUp.abort();
    return { backend, exit, call: await call };
  }

  it("on a second SIGTERM during a long drain exits at once with code 1", async () => {
    const { backend, exit, call } = await secondSignalDuringDrain("SIGTERM", "SIGTERM", 30_000);
    expect(exit).toEqual({ code: 1, signal: null });
    expect(call).not.toBe("answered");
    const messages = backend.logs().map((line) => line.msg);
    expect(messages).toContain("second signal: exiting now");
    expect(messages).not.toContain("stopped");
  });

  // Any listed signal during a drain, not only a repeat of the first one, ends it at once.
  it("on SIGINT after SIGTERM during a drain exits at once with code 1", async () => {
    const { exit, call } = await secondSignalDuringDrain("SIGTERM", "SIGINT", 3000);
    expect(call).not.toBe("answered");
    expect(exit).toEqual({ code: 1, signal: null });
  });
});
