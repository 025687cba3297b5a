// `npm start`: the whole mesh on this machine. Private PostgreSQL and Valkey/Redis (data under .mesh/),
// the control plane, backend-1 and backend-2, and the gateway on port 8080. Ctrl-C stops everything.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { signRoleToken } from "../lib/auth/sign-role-token.ts";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";
import { ConfigError } from "../lib/config/load-config.ts";
import { createPool } from "../lib/db/create-pool.ts";
import { migrate } from "../lib/db/migrate.ts";
import { isPortFree } from "../lib/infra/free-port.ts";
import { InfraError } from "../lib/infra/infra-error.ts";
import { startLocalInfra, type LocalInfra } from "../lib/infra/local-infra.ts";
import { formatLogLine } from "../lib/process/format-log-line.ts";
import { createSupervisor } from "../lib/process/supervisor.ts";
import { serviceNodeFlags } from "../lib/server/service-node-flags.ts";
import { ensureDashboardBuilt } from "./build-dashboard.ts";
import { readStartConfig, type StartConfig } from "./start-config.ts";

const root = resolve(import.meta.dirname, "..");

function fail(message: string): never {
  console.error(`\nnpm start: ${message}`);
  process.exit(1);
}

let config: StartConfig;
try {
  config = readStartConfig();
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}

const backendPorts = Array.from({ length: config.MESH_BACKENDS }, (_, i) => config.MESH_BACKEND_PORT + i);
const wanted: Array<[string, number]> = [
  ["gateway (MESH_GATEWAY_PORT)", config.MESH_GATEWAY_PORT],
  ["control plane (MESH_CONTROL_PORT)", config.MESH_CONTROL_PORT],
  ...backendPorts.map((port, i): [string, number] => [`backend-${i + 1} (MESH_BACKEND_PORT)`, port]),
];
for (const [what, port] of wanted) {
  if (!(await isPortFree(port))) {
    fail(`port ${port} for the ${what} is already in use.\n  fix: stop what holds it (\`lsof -i :${port}\`), or choose another port, e.g. ${what.match(/\((\w+)\)/)?.[1]}=${port + 100} npm start`);
  }
}

const print = (name: string, line: string) => console.log(formatLogLine(name, line));
const infraLogger = {
  info: (details: object, msg: string) => print("infra", JSON.stringify({ level: "info", time: new Date().toISOString(), msg, ...details })),
  warn: (details: object, msg: string) => print("infra", JSON.stringify({ level: "warn", time: new Date().toISOString(), msg, ...details })),
};

// The dashboard the gateway serves at /dashboard/: built here unless dashboard/dist is newer than its sources.
try {
  await ensureDashboardBuilt();
} catch (err) {
  fail((err as Error).message);
}

let infra: LocalInfra;
try {
  infra = await startLocalInfra({
    dataDir: resolve(root, config.MESH_DATA_DIR),
    databaseUrl: config.DATABASE_URL,
    redisUrl: config.REDIS_URL,
    allowPglite: true,
    logger: infraLogger,
  });
} catch (err) {
  if (err instanceof InfraError) fail(err.describe());
  throw err;
}

const supervisor = createSupervisor({
  searchPath: config.PATH,
  onLine: print,
  onEvent: (name, event) => print(name, JSON.stringify({ level: "warn", time: new Date().toISOString(), msg: event })),
});

let stopping = false;
async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log("\nstopping the mesh…");
    await supervisor.stopAll();
    await infra.stop();
    console.log("stopped.");
  }
  process.exit(code);
}
process.once("SIGINT", () => void stopAll(0));
process.once("SIGTERM", () => void stopAll(0));

const shared: NodeJS.ProcessEnv = {
  ...process.env,
  LOG_LEVEL: config.LOG_LEVEL,
  ...(config.OTEL_EXPORTER_OTLP_ENDPOINT ? { OTEL_EXPORTER_OTLP_ENDPOINT: config.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
};
const node = (service: string) => [
  ...serviceNodeFlags,
  "--import",
  resolve(root, `services/${service}/src/telemetry.ts`),
  resolve(root, `services/${service}/src/main.ts`),
];

/** Waits until grpc.health.v1 answers SERVING, or gives up after `timeoutMs`. */
async function waitServing(name: string, baseUrl: string, timeoutMs = 30_000): Promise<void> {
  const health = createClient(Health, createGrpcTransport({ baseUrl }));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await health.check({ service: "" }, { timeoutMs: 1000 });
      if (res.status === HealthCheckResponse_ServingStatus.SERVING) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  console.error(`\nnpm start: ${name} did not become healthy at ${baseUrl} within ${timeoutMs / 1000} s; see its log lines above.`);
  await stopAll(1);
}

/** A random secret made once and kept (owner-only) with the data. */
function localSecret(name: string): string {
  const file = resolve(root, config.MESH_DATA_DIR, name);
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(48).toString("base64url"), { mode: 0o600 });
  }
  return readFileSync(file, "utf8").trim();
}
// Auth is on: a local HS256 secret signs the tokens printed below.
const jwtIssuer = "connect-mesh-local";
const jwtAudience = "connect-mesh";
const jwtSecret = localSecret("jwt-secret");
// The mesh's service credential: backends take data, queue and fault calls only from the gateway and control.
const serviceSecret = localSecret("service-secret");
const localToken = (subject: string, roles: string[]) =>
  signRoleToken({ secret: jwtSecret, issuer: jwtIssuer, audience: jwtAudience, subject, roles, expiresIn: "7d" });
const adminToken = await localToken("local-admin", ["admin"]);
const userToken = await localToken("local-user", ["user"]);

const controlUrl = `http://127.0.0.1:${config.MESH_CONTROL_PORT}`;
const pglite = infra.postgres?.kind === "pglite";
// The backends' migrations run once here, before any backend starts: PGlite's single session cannot
// serialise concurrent migrators the way PostgreSQL's advisory lock does.
{
  const pool = createPool({ url: infra.databaseUrl, applicationName: "npm-start", max: 1 });
  try {
    await migrate(pool, { dir: resolve(root, "services/backend/migrations") });
  } finally {
    await pool.end();
  }
}
// Control supervises the backends (ORCHESTRATOR=local), so `mesh scale` and crash restarts work.
supervisor.start({
  name: "control",
  command: process.execPath,
  args: node("control"),
  env: {
    ...shared,
    PORT: String(config.MESH_CONTROL_PORT),
    INSTANCE_ID: "control-1",
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    ORCHESTRATOR: "local",
    BACKEND_REPLICAS: String(config.MESH_BACKENDS),
    BACKEND_PORT: String(config.MESH_BACKEND_PORT),
    MESH_DEMO: String(config.MESH_DEMO),
    GATEWAY_URL: `http://127.0.0.1:${config.MESH_GATEWAY_PORT}`,
    // Load tests go through the gateway, where auth is on: they run as the local admin.
    LOAD_TEST_BEARER_TOKEN: adminToken,
    MESH_SERVICE_SECRET: serviceSecret,
    ...(pglite ? { BACKEND_DB_POOL_MAX: "2" } : {}),
  },
});
await waitServing("control", controlUrl);
const backendUrls = backendPorts.map((port) => `http://127.0.0.1:${port}`);
for (const [i, url] of backendUrls.entries()) await waitServing(`backend-${i + 1}`, url);



const gatewayUrl = `http://127.0.0.1:${config.MESH_GATEWAY_PORT}`;
supervisor.start({
  name: "gateway",
  command: process.execPath,
  args: node("gateway"),
  env: {
    ...shared,
    PORT: String(config.MESH_GATEWAY_PORT),
    INSTANCE_ID: "gateway-1",
    UPSTREAMS: backendUrls.join(","),
    CONTROL_URL: controlUrl,
    JWT_SECRET: jwtSecret,
    JWT_ISSUER: jwtIssuer,
    JWT_AUDIENCE: jwtAudience,
    ...(config.JAEGER_UI_URL ? { JAEGER_UI_URL: config.JAEGER_UI_URL } : {}),
    MESH_SERVICE_SECRET: serviceSecret,
  },
});
await waitServing("gateway", gatewayUrl);

console.log(`
connect-mesh is up${pglite ? " (on embedded PGlite: single session, slower; install PostgreSQL for the real thing)" : ""}.

  gateway        ${gatewayUrl}   Connect, gRPC, gRPC-Web (HTTP/1.1 and HTTP/2); metrics at ${gatewayUrl}/metrics
  dashboard      http://localhost:${config.MESH_GATEWAY_PORT}/dashboard/   sign in with a token below${config.JAEGER_UI_URL ? `; traces link to ${config.JAEGER_UI_URL}` : ""}
  control plane  ${controlUrl}
${backendUrls.map((u, i) => `  backend-${i + 1}      ${u}`).join("\n")}
  PostgreSQL     ${infra.databaseUrl.replace(/\/\/[^@]*@/, "//")}
  Valkey/Redis   ${infra.redisUrl}

Tokens for the gateway (HS256, valid 7 days; the secret is kept in ${resolve(root, config.MESH_DATA_DIR, "jwt-secret")}):
  admin  ${adminToken}
  user   ${userToken}

Try:
  curl -s -H 'content-type: application/json' -d '{}' ${gatewayUrl}/mesh.health.v1.StatusService/GetStatus
  curl -s -H 'authorization: Bearer ${userToken}' ${gatewayUrl}/v1/items
  curl -s -H 'authorization: Bearer ${adminToken}' ${gatewayUrl}/v1/policies
  npx buf curl --protocol grpc --http2-prior-knowledge --list-services ${gatewayUrl}
  npm run example -- ${gatewayUrl} ${backendUrls.join(" ")}

Ctrl-C stops everything.
`);
