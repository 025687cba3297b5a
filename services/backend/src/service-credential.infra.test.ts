// Backends and control with the mesh's service secret take calls from mesh processes only: a caller that
// bypasses the gateway is refused, health, status and reflection stay public, and control (which holds the
// secret too) still drives faults on the backend. Real control and backend processes, real sockets.
import { create, type DescService } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../../gen/grpc/health/v1/health_pb.ts";
import { FaultSchema } from "../../../gen/mesh/chaos/v1/fault_pb.ts";
import { ChaosService } from "../../../gen/mesh/control/v1/chaos_pb.ts";
import { RegistryService, ServingState } from "../../../gen/mesh/control/v1/registry_pb.ts";
import { DataService } from "../../../gen/mesh/data/v1/data_pb.ts";
import { StatusService } from "../../../gen/mesh/health/v1/status_pb.ts";
import { createServiceCredentialInterceptor, startServiceCredential, type ServiceCredential } from "../../../lib/auth/service-credential.ts";
import { infraUrls } from "../../../test/infra-context.ts";
import { testKeyPrefix } from "../../../test/test-redis.ts";
import { databaseUrlInSchema, startService, stopAllServices, type SpawnedService } from "../../../test/spawn-service.ts";
import { createTestSchema, type TestSchema } from "../../../test/test-schema.ts";

const secret = "a-test-secret-of-the-mesh-that-is-long-enough";
const connections: Http2SessionManager[] = [];

function client<T extends DescService>(service: T, url: string, interceptors: Interceptor[] = []): Client<T> {
  const sessionManager = new Http2SessionManager(url);
  connections.push(sessionManager);
  return createClient(service, createGrpcTransport({ baseUrl: url, sessionManager, interceptors }));
}

async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

let schema: TestSchema;
let control: SpawnedService;
let backend: SpawnedService;
let mesh: ServiceCredential;
let impostor: ServiceCredential;

beforeAll(async () => {
  schema = await createTestSchema("credential");
  const { databaseUrl, redisUrl } = infraUrls();
  control = await startService({
    name: "control",
    env: { DATABASE_URL: databaseUrl, INSTANCE_ID: "control-credential", MESH_SERVICE_SECRET: secret, HEALTH_PROBE_INTERVAL_MS: "200" },
  });
  backend = await startService({
    name: "backend",
    env: {
      DATABASE_URL: databaseUrlInSchema(databaseUrl, schema.schema),
      REDIS_URL: redisUrl,
      CACHE_KEY_PREFIX: testKeyPrefix("credential"),
      INSTANCE_ID: "backend-credential",
      MESH_SERVICE_SECRET: secret,
      CONTROL_URL: control.url,
    },
  });
  mesh = await startServiceCredential({ secret, subject: "test-gateway" });
  impostor = await startServiceCredential({ secret: "another-secret-that-is-also-long-enough-to-pass", subject: "impostor" });
});

afterAll(async () => {
  mesh?.stop();
  impostor?.stop();
  for (const connection of connections.splice(0)) connection.abort();
  await stopAllServices();
  await schema?.drop();
});

describe("a backend with the mesh's service secret", () => {
  it("refuses data calls without the credential, and writes nothing", async () => {
    const outsider = client(DataService, backend.url);
    expect(await codeOf(outsider.createItem({ item: { name: "bypass" } }))).toBe(Code.Unauthenticated);
    const err = await outsider.getItem({ id: "00000000-0000-4000-8000-000000000000" }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).rawMessage).toBe("this service accepts calls through the mesh gateway only");

    const inside = client(DataService, backend.url, [createServiceCredentialInterceptor(mesh)]);
    const page = await inside.listItems({ pageSize: 10 });
    expect(page.items.map((item) => item.name)).not.toContain("bypass");
  });

  it("refuses a credential signed with another secret", async () => {
    const forged = client(DataService, backend.url, [createServiceCredentialInterceptor(impostor)]);
    expect(await codeOf(forged.listItems({ pageSize: 1 }))).toBe(Code.Unauthenticated);
  });

  it("serves mesh processes that present the credential", async () => {
    const inside = client(DataService, backend.url, [createServiceCredentialInterceptor(mesh)]);
    const created = await inside.createItem({ item: { name: "through the mesh" } });
    expect((await inside.getItem({ id: created.item!.id })).item?.name).toBe("through the mesh");
  });

  it("keeps health and status public", async () => {
    expect((await client(Health, backend.url).check({})).status).toBe(Serving.SERVING);
    expect((await client(StatusService, backend.url).getStatus({})).instanceId).toBe("backend-credential");
  });

  it("registers with control and takes control's fault calls, which carry control's credential", async () => {
    const registry = client(RegistryService, control.url, [createServiceCredentialInterceptor(mesh)]);
    await expect
      .poll(async () => (await registry.listInstances({ service: "backend" })).instances.find((i) => i.id === "backend-credential")?.state, {
        timeout: 15_000,
      })
      .toBe(ServingState.SERVING);

    const chaos = client(ChaosService, control.url, [createServiceCredentialInterceptor(mesh)]);
    const injected = await chaos.injectFault({
      target: { target: { case: "instanceId", value: "backend-credential" } },
      fault: create(FaultSchema, { spec: { case: "errorRate", value: { rate: 1 } }, duration: durationFromMs(60_000), methods: ["mesh.data.v1.DataService/GetItem"] }),
    });
    expect(injected.fault?.instanceIds).toEqual(["backend-credential"]);
    const status = await client(StatusService, backend.url).getStatus({});
    expect(status.activeFaults.map((f) => f.spec.case)).toEqual(["errorRate"]);
    await chaos.clearFault({ id: injected.fault!.id });
    expect((await client(StatusService, backend.url).getStatus({})).activeFaults).toEqual([]);
  });
});

describe("a control plane with the mesh's service secret", () => {
  it("refuses callers without the credential, so that nobody can act as a subject the gateway vouched for", async () => {
    const outsider = client(ChaosService, control.url, [
      (next) => (req) => {
        req.header.set("x-mesh-subject", "forged-admin");
        return next(req);
      },
    ]);
    expect(await codeOf(outsider.listFaults({}))).toBe(Code.Unauthenticated);
    expect(await codeOf(client(RegistryService, control.url, [createServiceCredentialInterceptor(impostor)]).listInstances({}))).toBe(Code.Unauthenticated);
    expect(await codeOf(client(RegistryService, control.url, [createServiceCredentialInterceptor(mesh)]).listInstances({}))).toBe("ok");
  });

  it("keeps its health check public", async () => {
    expect((await client(Health, control.url).check({})).status).toBe(Serving.SERVING);
  });
});
