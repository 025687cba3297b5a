import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../../gen/grpc/health/v1/health_pb.ts";
import { OverallStatus, StatusService } from "../../../gen/mesh/health/v1/status_pb.ts";
import { getFreePort } from "../../../lib/infra/free-port.ts";
import { infraUrls } from "../../../test/infra-context.ts";
import { bufCurl, spawnService, startService, stopAllServices, type SpawnedService } from "../../../test/spawn-service.ts";

const connections: Http2SessionManager[] = [];

function transport(url: string) {
  const sessionManager = new Http2SessionManager(url);
  connections.push(sessionManager);
  return createGrpcTransport({ baseUrl: url, sessionManager });
}

/** The control plane keeps its tables in its own `control` schema of the run's database. */
function controlEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { DATABASE_URL: infraUrls().databaseUrl, ...extra };
}

afterAll(async () => {
  for (const connection of connections.splice(0)) connection.abort();
  await stopAllServices();
});

describe("configuration errors", () => {
  it.each([
    ["PORT is not a number", { PORT: "abc" }, ["PORT", "expected an integer from 0 to 65535", '"abc"']],
    ["LOG_LEVEL is unknown", { LOG_LEVEL: "loud" }, ["LOG_LEVEL", "expected one of fatal, error, warn, info, debug, trace, silent"]],
    ["SHUTDOWN_GRACE_MS is too large", { SHUTDOWN_GRACE_MS: "999999" }, ["SHUTDOWN_GRACE_MS", "from 0 to 300000"]],
    ["OTEL_EXPORTER_OTLP_ENDPOINT is not http", { OTEL_EXPORTER_OTLP_ENDPOINT: "grpc://collector:4317" }, ["OTEL_EXPORTER_OTLP_ENDPOINT", "http://"]],
    ["INSTANCE_ID has a space", { INSTANCE_ID: "control one" }, ["INSTANCE_ID", "A-Z, a-z, 0-9"]],
    ["DATABASE_URL is missing", { DATABASE_URL: undefined }, ["DATABASE_URL", "postgres://"]],
  ] as const)("exits with code 1 when %s, naming the variable and the expected form", async (_label, env, expected) => {
    const control = await spawnService({ name: "control", env: { ...controlEnv(), ...env } });
    expect(await control.exited).toEqual({ code: 1, signal: null });
    const stderr = control.output().stderr.join("\n");
    expect(stderr).toContain("control: invalid configuration");
    for (const text of expected) expect(stderr).toContain(text);
  });

  it("explains a port already in use in one line, with a fix", async () => {
    const first = await startService({ name: "control", env: controlEnv({ INSTANCE_ID: "control-first" }) });
    const second = await spawnService({ name: "control", env: controlEnv({ PORT: String(first.port), INSTANCE_ID: "control-second" }) });
    expect((await second.exited).code).toBe(1);
    // One line of explanation, one of fix, and no stack trace.
    const [explanation, fix, ...rest] = second.output().stderr;
    expect(rest).toEqual([]);
    expect(explanation).toContain(`port ${first.port}`);
    expect(explanation).toContain("already in use");
    expect(fix).toMatch(/^\s*fix: .*PORT=/);
    expect(await first.stop()).toEqual({ code: 0, signal: null });
  });
});

describe("a running control plane", () => {
  let control: SpawnedService;

  beforeAll(async () => {
    control = await startService({ name: "control", env: controlEnv({ INSTANCE_ID: "control-test" }) });
  });

  afterAll(async () => {
    if (control) expect(await control.stop()).toEqual({ code: 0, signal: null });
  });

  it("is SERVING", async () => {
    const health = createClient(Health, transport(control.url));
    expect((await health.check({ service: "" })).status).toBe(Serving.SERVING);
  });

  it("reports its own status", async () => {
    const status = await createClient(StatusService, transport(control.url)).getStatus({});
    expect(status).toMatchObject({ service: "control", instanceId: "control-test", status: OverallStatus.OPERATIONAL });
    expect(status.process?.pid).toBe(control.pid);
  });

  it("counts the RPCs it served at GET /metrics", async () => {
    await createClient(Health, transport(control.url)).check({ service: "" });
    const response = await fetch(`${control.url}/metrics`);
    expect(response.status).toBe(200);
    // Prometheus text or OpenMetrics (which Prometheus scrapes natively).
    expect(response.headers.get("content-type")).toMatch(/^(text\/plain|application\/openmetrics-text);/);
    const text = await response.text();
    expect(text).toMatch(/^rpc_server_requests_total\{(?=[^}]*rpc_service="grpc\.health\.v1\.Health")(?=[^}]*service="control")[^}]*\} [1-9]/m);
  });

  it("lists its services to buf curl and answers Health/Check over gRPC and Connect", async () => {
    const list = await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", "--list-services", control.url]);
    expect(list.exitCode).toBe(0);
    // The control plane grows services of mesh.control.v1 as they are built; these are there from the start.
    expect(list.stdout.trim().split("\n")).toEqual(
      expect.arrayContaining([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "mesh.health.v1.StatusService",
      ]),
    );
    for (const protocol of ["grpc", "connect"]) {
      const check = await bufCurl(["--protocol", protocol, "--http2-prior-knowledge", `${control.url}/grpc.health.v1.Health/Check`]);
      expect(check.exitCode).toBe(0);
      expect(JSON.parse(check.stdout)).toEqual({ status: "SERVING" });
    }
  });

  it("is reachable through a gateway given CONTROL_URL, which then lists the control services", async () => {
    const gateway = await startService({
      name: "gateway",
      env: { UPSTREAMS: `http://127.0.0.1:${await getFreePort()}`, CONTROL_URL: control.url, INSTANCE_ID: "gateway-control-test" },
    });
    const list = await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", "--list-services", gateway.url]);
    expect(list.exitCode).toBe(0);
    expect(list.stdout.trim().split("\n")).toEqual(
      expect.arrayContaining([
        "mesh.control.v1.RegistryService",
        "mesh.control.v1.PolicyService",
        "mesh.control.v1.ChaosService",
        "mesh.control.v1.OverviewService",
        "mesh.data.v1.DataService",
      ]),
    );
    expect(await gateway.stop()).toEqual({ code: 0, signal: null });
  });
});

describe("shutdown", () => {
  it.each(["SIGTERM", "SIGINT"] as const)("exits with code 0 on %s, after logging that it stopped", async (signal) => {
    const control = await startService({ name: "control", env: controlEnv({ INSTANCE_ID: `control-${signal}` }) });
    expect(await control.stop(signal)).toEqual({ code: 0, signal: null });
    const messages = control.logs().map((line) => line.msg);
    expect(messages).toContain("shutting down");
    const during = control.logs().slice(messages.indexOf("shutting down"));
    expect(during.at(-1)?.msg).toBe("stopped");
    // Nothing was cut off and nothing failed on the way down.
    expect(during.filter((line) => line.level === "warn" || line.level === "error" || line.level === "fatal")).toEqual([]);
    expect(control.logs().find((line) => line.msg === "shutting down")?.reason).toBe(signal);
  });
});
