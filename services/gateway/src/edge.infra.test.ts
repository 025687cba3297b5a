// The gateway's edge with real gateway processes in front of an upstream in this test process: JWT
// authentication and per-method roles from the protos, the service credential, CORS, security headers,
// limits, request ids, deadline propagation, and rate limits shared by two gateways through one Valkey.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../../gen/grpc/health/v1/health_pb.ts";
import { PolicyService } from "../../../gen/mesh/control/v1/policy_pb.ts";
import { DataService } from "../../../gen/mesh/data/v1/data_pb.ts";
import { requireServiceCredential, rolesHeader, serviceTokenHeader, subjectHeader } from "../../../lib/auth/service-credential.ts";
import { getFreePort } from "../../../lib/infra/free-port.ts";
import { createLogger } from "../../../lib/logging/create-logger.ts";
import { createMeshServer, type MeshServer } from "../../../lib/server/mesh-server.ts";
import { infraUrls } from "../../../test/infra-context.ts";
import { bufCurl, startService, stopAllServices, type SpawnedService } from "../../../test/spawn-service.ts";
import { createTestRedis, type TestRedis } from "../../../test/test-redis.ts";
import { closeClients, grpcClient } from "./test-support/mesh-fixture.ts";

const jwtSecret = "edge-test-secret-of-more-than-32-bytes!!";
const serviceSecret = "mesh-service-secret-of-more-than-32-bytes";
const seen: Array<{ id: string; headers: Headers; timeoutMs: number | undefined }> = [];
let upstream: MeshServer;
let gateway: SpawnedService;
let kv: TestRedis;

async function token(options: { roles?: unknown; sub?: string; aud?: string; iss?: string; exp?: number; secret?: string } = {}): Promise<string> {
  return new SignJWT({ roles: options.roles ?? ["user"] })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(options.sub ?? "alice")
    .setIssuer(options.iss ?? "connect-mesh")
    .setAudience(options.aud ?? "connect-mesh-gateway")
    .setIssuedAt()
    .setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 300)
    .sign(new TextEncoder().encode(options.secret ?? jwtSecret));
}

function rest(base: string, path: string, init: RequestInit & { bearer?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.bearer !== undefined) headers.set("authorization", `Bearer ${init.bearer}`);
  return fetch(`${base}${path}`, { ...init, headers });
}

async function rpcError(call: Promise<unknown>): Promise<ConnectError | undefined> {
  return call.then(
    () => undefined,
    (err: unknown) => ConnectError.from(err),
  );
}

beforeAll(async () => {
  upstream = createMeshServer({
    logger: createLogger({ service: "edge-test-upstream", instance: "u", level: "silent" }),
    // The backends' side of the service credential: calls that bypass the gateway are refused.
    interceptors: [requireServiceCredential({ secret: serviceSecret })],
    routes(router) {
      router.service(DataService, {
        getItem(req, ctx) {
          seen.push({ id: req.id, headers: ctx.requestHeader, timeoutMs: ctx.timeoutMs() });
          return { item: { id: req.id, name: "n" } };
        },
        createItem(req) {
          return { item: { id: "new", name: req.item?.name ?? "" } };
        },
      });
      router.service(PolicyService, {
        getPolicy: (req) => ({ policy: { service: req.service } }),
        setPolicy: (req) => ({ policy: { service: req.policy?.service ?? "", version: 1n } }),
      });
    },
  });
  await upstream.listen();
  kv = await createTestRedis("edge");
  gateway = await startService({
    name: "gateway",
    env: {
      INSTANCE_ID: "gateway-edge",
      UPSTREAMS: upstream.url,
      // The upstream plays control too (PolicyService); its registry watch is missing, so routing stays static.
      CONTROL_URL: upstream.url,
      JWT_SECRET: jwtSecret,
      JWT_ISSUER: "connect-mesh",
      JWT_AUDIENCE: "connect-mesh-gateway",
      MESH_SERVICE_SECRET: serviceSecret,
      CORS_ALLOWED_ORIGINS: "https://app.example.com",
      MAX_BODY_BYTES: "2048",
      MAX_HEADER_BYTES: "8192",
    },
  });
});

afterAll(async () => {
  closeClients();
  await stopAllServices();
  await upstream?.close(0);
  await kv?.deleteKeysAndQuit();
});

describe("authentication and roles (REST)", () => {
  async function expectStatus(res: Response, status: number, code: number, message: string) {
    expect(res.status).toBe(status);
    const body = (await res.json()) as { code: number; message: string; details: Array<{ "@type": string }> };
    expect(body.code).toBe(code);
    expect(body.message).toBe(message);
    // Only the request id: nothing that says why a token failed.
    expect(body.details.map((d) => d["@type"])).toEqual(["type.googleapis.com/google.rpc.RequestInfo"]);
  }

  it("answers 401 without a token, with WWW-Authenticate", async () => {
    const res = await rest(gateway.url, "/v1/items/a");
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="connect-mesh"');
    await expectStatus(res, 401, Code.Unauthenticated, "authentication required");
  });

  const bad: Array<[string, () => Promise<string> | string]> = [
    ["malformed", () => "not-a-jwt"],
    ["expired", () => token({ exp: Math.floor(Date.now() / 1000) - 120 })],
    ["wrongly signed", () => token({ secret: "some-other-secret-that-is-32-bytes-long" })],
    ["for another audience", () => token({ aud: "someone-else" })],
    ["from another issuer", () => token({ iss: "evil" })],
    ["unsigned (alg none)", () => new UnsecuredJWT({ sub: "alice", roles: ["admin"], iss: "connect-mesh", aud: "connect-mesh-gateway" }).setExpirationTime("5m").encode()],
    [
      "a user token whose roles were changed to admin",
      async () => {
        const [header, , signature] = (await token()).split(".");
        const payload = { sub: "alice", roles: ["admin"], iss: "connect-mesh", aud: "connect-mesh-gateway", exp: Math.floor(Date.now() / 1000) + 300 };
        return `${header}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${signature}`;
      },
    ],
  ];
  it.each(bad)("answers 401 to a token that is %s, saying only that it is not valid", async (_label, make) => {
    const res = await rest(gateway.url, "/v1/items/a", { bearer: await make() });
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    await expectStatus(res, 401, Code.Unauthenticated, "the bearer token is not valid");
  });

  it("answers 401 to another scheme than Bearer", async () => {
    const res = await rest(gateway.url, "/v1/items/a", { headers: { authorization: "Basic YWxpY2U6c2VjcmV0" } });
    await expectStatus(res, 401, Code.Unauthenticated, "the bearer token is not valid");
  });

  it("lets a user call a user method, and tells the upstream who called, with the gateway's credential", async () => {
    const res = await rest(gateway.url, "/v1/items/by-alice", { bearer: await token(), headers: { [subjectHeader]: "mallory", [rolesHeader]: "admin" } });
    expect(res.status).toBe(200);
    const call = seen.find((s) => s.id === "by-alice")!;
    expect(call.headers.get(serviceTokenHeader)).toMatch(/^ey/);
    // A client cannot speak for the gateway: the upstream hears the verified token's subject and roles, not
    // the x-mesh-* headers the client sent.
    expect(call.headers.get(subjectHeader)).toBe("alice");
    expect(call.headers.get(rolesHeader)).toBe("user");
  });

  const setPolicy = (bearer: string, headers: Record<string, string> = {}) =>
    rest(gateway.url, "/v1/policies/backend", {
      method: "PUT",
      bearer,
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ service: "backend" }),
    });

  it("answers 403 to a user calling an admin method (role escalation), even with a forged roles header", async () => {
    const res = await setPolicy(await token(), { [rolesHeader]: "admin", "x-roles": "admin" });
    await expectStatus(res, 403, Code.PermissionDenied, "permission denied");
  });

  it("lets an admin call an admin method", async () => {
    const res = await setPolicy(await token({ roles: ["admin"], sub: "root" }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ policy: { service: "backend", version: "1" } });
  });

  it("lets a user read the control plane (issue #9: reads are for users, actions for admins)", async () => {
    const res = await rest(gateway.url, "/v1/policies/backend", { bearer: await token() });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ policy: { service: "backend" } });
  });

  it("answers 403 to a valid token without the role", async () => {
    await expectStatus(await rest(gateway.url, "/v1/items/a", { bearer: await token({ roles: [] }) }), 403, Code.PermissionDenied, "permission denied");
  });

  it("keeps health, status, reflection and OpenAPI public", async () => {
    expect((await rest(gateway.url, "/v1/status")).status).toBe(200);
    expect((await rest(gateway.url, "/openapi.json")).status).toBe(200);
    const health = await createClient(Health, createGrpcTransport({ baseUrl: gateway.url })).check({});
    expect(health.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const list = await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", "--list-services", gateway.url]);
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toContain("mesh.data.v1.DataService");
  });
});

describe("authentication and roles (gRPC)", () => {
  const call = (bearer?: string): Promise<{ item?: { id: string } }> =>
    grpcClient(DataService, gateway.url).getItem({ id: "grpc" }, { headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` } });

  const cases: Array<[string, () => Promise<string | undefined>, Code]> = [
    ["no token", async () => undefined, Code.Unauthenticated],
    ["an expired token", () => token({ exp: Math.floor(Date.now() / 1000) - 120 }), Code.Unauthenticated],
    ["an unsigned token", async () => new UnsecuredJWT({ sub: "x", roles: ["user"] }).setExpirationTime("5m").encode(), Code.Unauthenticated],
    ["a token without the role", () => token({ roles: ["viewer"] }), Code.PermissionDenied],
  ];
  it.each(cases)("refuses %s", async (_label, make, code) => {
    expect((await rpcError(call(await make())))?.code).toBe(code);
  });

  it("passes a user's call, and refuses the user an admin method", async () => {
    expect((await call(await token())).item?.id).toBe("grpc");
    const bearer = { authorization: `Bearer ${await token()}` };
    expect((await grpcClient(PolicyService, gateway.url).getPolicy({ service: "backend" }, { headers: bearer })).policy?.service).toBe("backend");
    const error = await rpcError(grpcClient(PolicyService, gateway.url).setPolicy({ policy: { service: "backend" } }, { headers: bearer }));
    expect(error?.code).toBe(Code.PermissionDenied);
  });
});

describe("the service credential", () => {
  it("is refused by the upstream when a call bypasses the gateway", async () => {
    const error = await rpcError(grpcClient(DataService, upstream.url).getItem({ id: "direct" }));
    expect(error?.code).toBe(Code.Unauthenticated);
    expect(seen.some((s) => s.id === "direct")).toBe(false);
  });
});

describe("edge hygiene", () => {
  it("sets security headers and echoes a sane request id", async () => {
    const res = await rest(gateway.url, "/v1/status", { headers: { "x-request-id": "req-123" } });
    expect(res.headers.get("x-request-id")).toBe("req-123");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const generated = await rest(gateway.url, "/v1/status", { headers: { "x-request-id": "bad id with spaces" } });
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers CORS preflights for allowed origins only", async () => {
    const ok = await rest(gateway.url, "/v1/items/a", { method: "OPTIONS", headers: { origin: "https://app.example.com", "access-control-request-method": "GET", "access-control-request-headers": "authorization" } });
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(ok.headers.get("access-control-allow-headers")).toBe("authorization");
    const denied = await rest(gateway.url, "/v1/items/a", { method: "OPTIONS", headers: { origin: "https://evil.example.com", "access-control-request-method": "GET" } });
    expect(denied.status).toBe(403);
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
    const simple = await rest(gateway.url, "/v1/status", { headers: { origin: "https://app.example.com" } });
    expect(simple.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(simple.headers.get("access-control-expose-headers")).toContain("x-request-id");
  });

  it("refuses a body over MAX_BODY_BYTES with 413 before any upstream work", async () => {
    const res = await rest(gateway.url, "/v1/items", {
      method: "POST",
      bearer: await token(),
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "x".repeat(4096) }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: number }).code).toBe(Code.ResourceExhausted);
  });

  it("refuses oversized headers with 431", async () => {
    const res = await rest(gateway.url, "/v1/status", { headers: { "x-padding": "p".repeat(9000) } });
    expect(res.status).toBe(431);
  });

  it("refuses an oversized gRPC request with ResourceExhausted", async () => {
    const error = await rpcError(grpcClient(DataService, gateway.url).createItem({ item: { name: "x".repeat(4096) } }, { headers: { authorization: `Bearer ${await token()}` } }));
    expect(error?.code).toBe(Code.ResourceExhausted);
  });
});

describe("deadline propagation", () => {
  it.each([
    ["gRPC with timeoutMs 800", async () => grpcClient(DataService, gateway.url).getItem({ id: "deadline-grpc" }, { timeoutMs: 800, headers: { authorization: `Bearer ${await token()}` } }), "deadline-grpc", 800],
    ["REST with grpc-timeout 2S", async () => rest(gateway.url, "/v1/items/deadline-rest", { bearer: await token(), headers: { "grpc-timeout": "2S" } }), "deadline-rest", 2000],
  ] as const)("sends the remaining deadline upstream: %s", async (_label, send, id, ms) => {
    await send();
    const timeoutMs = seen.find((s) => s.id === id)?.timeoutMs;
    expect(timeoutMs).toBeGreaterThan(0);
    expect(timeoutMs).toBeLessThanOrEqual(ms);
  });

  it("applies the policy's request timeout (15 s) when the caller sets none", async () => {
    await rest(gateway.url, "/v1/items/deadline-none", { bearer: await token() });
    const timeoutMs = seen.find((s) => s.id === "deadline-none")?.timeoutMs;
    expect(timeoutMs).toBeGreaterThan(0);
    expect(timeoutMs).toBeLessThanOrEqual(15_000);
  });
});

describe("rate limits shared by two gateways through one Valkey", () => {
  let a: SpawnedService;
  let b: SpawnedService;
  let alone: SpawnedService;

  beforeAll(async () => {
    const env = {
      UPSTREAMS: upstream.url,
      MESH_SERVICE_SECRET: serviceSecret,
      REDIS_URL: infraUrls().redisUrl,
      RATE_LIMIT_PER_SECOND: "1",
      RATE_LIMIT_BURST: "5",
      RATE_LIMIT_KEY_PREFIX: kv.prefix,
      RATE_LIMIT_API_KEYS: "key-of-partner",
    };
    a = await startService({ name: "gateway", env: { ...env, INSTANCE_ID: "gateway-rl-a" } });
    b = await startService({ name: "gateway", env: { ...env, INSTANCE_ID: "gateway-rl-b" } });
    alone = await startService({ name: "gateway", env: { ...env, INSTANCE_ID: "gateway-rl-alone", REDIS_URL: `redis://127.0.0.1:${await getFreePort()}` } });
  });

  it("lets one client through the burst across both gateways, then answers 429 with RateLimit-* and Retry-After", async () => {
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 12; i++) {
      const res = await rest(i % 2 === 0 ? a.url : b.url, "/v1/items/limited");
      statuses.push(res.status);
      if (res.status === 429) refused ??= res;
      else await res.arrayBuffer();
    }
    const allowed = statuses.filter((s) => s === 200).length;
    // The burst of 5, plus at most one token refilled (1 per second) while the requests ran.
    expect(allowed).toBeGreaterThanOrEqual(5);
    expect(allowed).toBeLessThanOrEqual(6);
    expect(refused!.headers.get("ratelimit-limit")).toBe("5");
    expect(refused!.headers.get("ratelimit-remaining")).toBe("0");
    expect(Number(refused!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const body = (await refused!.json()) as { code: number; details: Array<{ "@type": string }> };
    expect(body.code).toBe(Code.ResourceExhausted);
    expect(body.details.map((d) => d["@type"])).toContain("type.googleapis.com/google.rpc.RetryInfo");
  });

  it("answers a limited gRPC call with ResourceExhausted, and never limits health checks", async () => {
    const error = await rpcError(grpcClient(DataService, a.url).getItem({ id: "limited" }));
    expect(error?.code).toBe(Code.ResourceExhausted);
    const health = await createClient(Health, createGrpcTransport({ baseUrl: b.url })).check({});
    expect(health.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it("gives a configured API key a bucket of its own", async () => {
    expect((await rest(a.url, "/v1/items/partner", { headers: { "x-api-key": "key-of-partner" } })).status).toBe(200);
    expect((await rest(b.url, "/v1/items/stranger", { headers: { "x-api-key": "unknown-key" } })).status).toBe(429);
  });

  it("falls back to a local limit when Valkey is down, and says so once", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await rest(alone.url, "/v1/items/local");
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
    await alone.waitForLine(/Valkey unavailable/); // pino writes asynchronously
    expect(alone.logs().filter((l) => String(l.msg).startsWith("Valkey unavailable"))).toHaveLength(1);
  });
});
