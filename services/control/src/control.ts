import { fileURLToPath } from "node:url";
import { FaultService } from "../../../gen/mesh/chaos/v1/fault_pb.ts";
import { BreakerService } from "../../../gen/mesh/control/v1/breaker_pb.ts";
import { ChaosService } from "../../../gen/mesh/control/v1/chaos_pb.ts";
import { EventService } from "../../../gen/mesh/control/v1/events_pb.ts";
import { OverviewService } from "../../../gen/mesh/control/v1/overview_pb.ts";
import { ScalingService } from "../../../gen/mesh/control/v1/scaling_pb.ts";
import { TrafficService } from "../../../gen/mesh/control/v1/traffic_pb.ts";
import { LoadTestService } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import { EventType } from "../../../gen/mesh/control/v1/events_pb.ts";
import { StatusService } from "../../../gen/mesh/health/v1/status_pb.ts";
import { PolicyService } from "../../../gen/mesh/control/v1/policy_pb.ts";
import { RegistryService } from "../../../gen/mesh/control/v1/registry_pb.ts";
import { createPool } from "../../../lib/db/create-pool.ts";
import { migrate } from "../../../lib/db/migrate.ts";
import { pgCheck } from "../../../lib/health/pg-check.ts";
import type { Logger } from "../../../lib/logging/create-logger.ts";
import { startMeshService, type MeshService } from "../../../lib/server/start-mesh-service.ts";
import { createPostgresProbe } from "../../../lib/status/dependency-probes.ts";
import { createSupervisor } from "../../../lib/process/supervisor.ts";
import { createClientCache } from "../../../lib/rpc/create-client-cache.ts";
import { createServiceCredentialInterceptor, requireServiceCredential, startServiceCredential } from "../../../lib/auth/service-credential.ts";
import { createClientTracingInterceptor } from "../../../lib/telemetry/tracing-interceptors.ts";
import { createBreakerBoard } from "./breakers/breaker-board.ts";
import { createBreakerService } from "./breakers/breaker-service.ts";
import { createChaosController } from "./chaos/chaos-controller.ts";
import { createChaosService } from "./chaos/chaos-service.ts";
import type { ControlConfig } from "./config.ts";
import { createEventLog } from "./events/event-log.ts";
import { createEventService } from "./events/event-service.ts";
import { recordRegistryEvents } from "./events/record-registry-events.ts";
import { createLoadTestRunner } from "./load/load-test-runner.ts";
import { createLoadTestService } from "./load/load-test-service.ts";
import { meshServices } from "../../../lib/mesh-services.ts";
import { createOverviewService } from "./overview/overview-service.ts";
import { createPolicyService } from "./policy/policy-service.ts";
import { createPolicyStore } from "./policy/policy-store.ts";
import { startInstanceProber } from "./registry/instance-prober.ts";
import { createRegistryService } from "./registry/registry-service.ts";
import { createRegistryState } from "./registry/registry-state.ts";
import { createLocalScaler, type Scaler } from "./scaling/local-scaler.ts";
import { createScalingService } from "./scaling/scaling-service.ts";
import { createTrafficHistory } from "./traffic/traffic-history.ts";
import { createTrafficService } from "./traffic/traffic-service.ts";
import { serviceNodeFlags } from "../../../lib/server/service-node-flags.ts";

export const controlMigrationsDir = fileURLToPath(new URL("../migrations", import.meta.url));

/** Control's tables live in their own schema, beside the backends' tables in the same database. */
export const controlSchema = "control";

export interface Control {
  readonly service: MeshService;
  readonly url: string;
  stop(graceMs: number): Promise<void>;
}

/**
 * Wires the control plane: the registry (leases, health probing, watch streams), policies and the mesh event
 * log in PostgreSQL, chaos through the backends' fault hooks, the overview from live instance status, and
 * (with ORCHESTRATOR=local) the supervised backend processes, load tests in worker threads, and the mesh-wide
 * breaker view that gateways report into.
 */
export async function startControl(config: ControlConfig, deps: { logger: Logger; now?: () => number }): Promise<Control> {
  const { logger } = deps;
  const now = deps.now ?? Date.now;
  const pool = createPool({
    url: config.DATABASE_URL,
    applicationName: config.INSTANCE_ID,
    schema: controlSchema,
    max: 5,
    onError: (err) => logger.warn({ err }, "idle PostgreSQL connection failed"),
  });
  await migrate(pool, { dir: controlMigrationsDir, schema: controlSchema, logger });
  const events = createEventLog(pool);
  const policies = createPolicyStore(pool, events);
  const stop = new AbortController();
  // Microseconds since the epoch: above any revision an earlier incarnation could have reached.
  const registry = createRegistryState({ initialRevision: now() * 1000 });
  for (const policy of await policies.list()) registry.upsertPolicy(policy);
  const unsubscribe = recordRegistryEvents(registry, events, logger);
  const sweeper = setInterval(() => {
    for (const id of registry.expire(now())) logger.warn({ instance_id: id }, "instance lease expired");
  }, 500);
  sweeper.unref();
  const prober = startInstanceProber({
    state: registry,
    logger,
    intervalMs: config.HEALTH_PROBE_INTERVAL_MS,
    thresholds: { healthy: config.HEALTHY_THRESHOLD, unhealthy: config.UNHEALTHY_THRESHOLD },
  });
  // Backends configured with the mesh's service secret take fault and status calls only with its credential.
  const credential =
    config.MESH_SERVICE_SECRET === undefined ? undefined : await startServiceCredential({ secret: config.MESH_SERVICE_SECRET, subject: config.INSTANCE_ID });
  const instanceInterceptors = [createClientTracingInterceptor(), ...(credential === undefined ? [] : [createServiceCredentialInterceptor(credential)])];
  const faultClients = createClientCache(FaultService, instanceInterceptors);
  const statusClients = createClientCache(StatusService, instanceInterceptors);
  const chaos = createChaosController({ registry, faults: faultClients.get, events, logger, now });
  const supervisor = createSupervisor({
    searchPath: config.PATH,
    // Supervised backends log JSON lines with their own service and instance; pass them through untouched.
    onLine: (_name, line) => process.stdout.write(`${line}\n`),
    onEvent: (name, event) => logger.warn({ instance_id: name }, event),
    onExit(name, code, signal) {
      events
        .append({ type: EventType.SCALED, service: "backend", instanceId: name, message: `${name} exited (${signal ?? `code ${code}`}); restarting` })
        .catch(() => undefined);
    },
  });
  const scalers = new Map<string, Scaler>();
  const backendEntry = fileURLToPath(new URL("../../backend/src/main.ts", import.meta.url));
  const backendTelemetry = fileURLToPath(new URL("../../backend/src/telemetry.ts", import.meta.url));
  let selfUrl = "";
  if (config.ORCHESTRATOR === "local") {
    scalers.set(
      "backend",
      createLocalScaler({
        service: "backend",
        supervisor,
        registry,
        spec(index) {
          const port = config.BACKEND_PORT + index - 1;
          const instanceId = `backend-${index}`;
          return {
            name: instanceId,
            instanceId,
            address: `http://127.0.0.1:${port}`,
            command: process.execPath,
            args: [...serviceNodeFlags, "--import", backendTelemetry, backendEntry],
            env: {
              PATH: config.PATH,
              LOG_LEVEL: config.LOG_LEVEL,
              PORT: String(port),
              INSTANCE_ID: instanceId,
              DATABASE_URL: config.DATABASE_URL,
              DB_POOL_MAX: String(config.BACKEND_DB_POOL_MAX),
              REDIS_URL: config.REDIS_URL,
              CONTROL_URL: selfUrl,
              MESH_VERSION: config.MESH_VERSION,
              ...(config.MESH_SERVICE_SECRET ? { MESH_SERVICE_SECRET: config.MESH_SERVICE_SECRET } : {}),
              ...(config.OTEL_EXPORTER_OTLP_ENDPOINT ? { OTEL_EXPORTER_OTLP_ENDPOINT: config.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
              OTEL_TRACES_SAMPLER_ARG: String(config.OTEL_TRACES_SAMPLER_ARG),
              ...(config.MESH_DEMO ? { ERROR_RATE: index === 1 ? "0.15" : "0.2" } : {}),
            },
          };
        },
      }),
    );
  }
  // The last 15 minutes of the gateways' traffic reports, in memory, for the dashboard's charts.
  const traffic = createTrafficHistory();
  const loadTests = createLoadTestRunner({ pool, events, logger, gatewayUrl: config.GATEWAY_URL, bearerToken: config.LOAD_TEST_BEARER_TOKEN });
  const service = await startMeshService({
    service: "control",
    instanceId: config.INSTANCE_ID,
    version: config.MESH_VERSION,
    host: config.HOST,
    port: config.PORT,
    logger,
    healthChecks: { postgres: pgCheck(pool) },
    status: { database: createPostgresProbe(pool, 5) },
    // With the mesh's secret, control answers only credentialed callers (gateways, backends, the CLI with the
    // secret), so the caller identity the gateway forwards (x-mesh-subject) cannot be forged by going around it.
    interceptors: config.MESH_SERVICE_SECRET === undefined ? [] : [requireServiceCredential({ secret: config.MESH_SERVICE_SECRET })],
    routes(router) {
      router.service(RegistryService, createRegistryService({ state: registry, now, stop: stop.signal }));
      router.service(PolicyService, createPolicyService({ store: policies, onChange: (p) => registry.upsertPolicy(p) }));
      router.service(EventService, createEventService({ log: events, stop: stop.signal }));
      router.service(ChaosService, createChaosService(chaos));
      router.service(BreakerService, createBreakerService({ board: createBreakerBoard(registry), registry, events, now, stop: stop.signal, traffic }));
      router.service(OverviewService, createOverviewService({ registry, status: statusClients.get, now, stop: stop.signal }));
      router.service(ScalingService, createScalingService({ orchestrator: config.ORCHESTRATOR, scalers, events }));
      router.service(LoadTestService, createLoadTestService({ runner: loadTests, meshServices }));
      router.service(TrafficService, createTrafficService({ history: traffic, now, stop: stop.signal }));
    },
  });
  selfUrl = config.ADVERTISE_URL ?? service.server.url;
  for (const scaler of scalers.values()) await scaler.scale(config.BACKEND_REPLICAS);
  return {
    service,
    get url() {
      return service.server.url;
    },
    async stop(graceMs) {
      await loadTests.close();
      // Supervised backends first, while control still serves their deregistration.
      await supervisor.stopAll();
      stop.abort();
      clearInterval(sweeper);
      prober.stop();
      credential?.stop();
      chaos.stop();
      unsubscribe();
      await service.drain(graceMs);
      await pool.end();
    },
  };
}
