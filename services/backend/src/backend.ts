import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Redis } from "ioredis";
import { FaultSchema, FaultService } from "../../../gen/mesh/chaos/v1/fault_pb.ts";
import { Code as RpcCode } from "../../../gen/google/rpc/code_pb.ts";
import { createPool } from "../../../lib/db/create-pool.ts";
import { migrate } from "../../../lib/db/migrate.ts";
import { pgCheck } from "../../../lib/health/pg-check.ts";
import { redisCheck } from "../../../lib/health/redis-check.ts";
import type { Logger } from "../../../lib/logging/create-logger.ts";
import { startMeshService, type MeshService } from "../../../lib/server/start-mesh-service.ts";
import { createPostgresProbe, createRedisProbe } from "../../../lib/status/dependency-probes.ts";
import type { BackendConfig } from "./config.ts";
import { createFaultEffects } from "./faults/fault-effects.ts";
import { createFaultInterceptor } from "./faults/fault-interceptor.ts";
import { createFaultRegistry, type FaultRegistry } from "./faults/fault-registry.ts";
import { createFaultService } from "./faults/fault-service.ts";

export const migrationsDir = fileURLToPath(new URL("../migrations", import.meta.url));

export interface Backend {
  readonly service: MeshService;
  readonly url: string;
  readonly faults: FaultRegistry;
  /** NOT_SERVING, drain within `graceMs`, then close the pools. */
  stop(graceMs: number): Promise<void>;
}

export interface BackendDeps {
  logger: Logger;
  /** Ends the process for the crash fault. */
  exit: (code: number) => void;
}

/** Faults the seeds set from the environment at start (ERROR_RATE and friends); they last until cleared. */
function injectConfiguredFaults(config: BackendConfig, faults: FaultRegistry): void {
  if (config.ERROR_RATE > 0) {
    faults.inject(
      create(FaultSchema, {
        spec: { case: "errorRate", value: { rate: config.ERROR_RATE, code: RpcCode.UNAVAILABLE } },
        source: "config",
      }),
      { permanent: true },
    );
  }
  if (config.LATENCY_MS > 0) {
    faults.inject(
      create(FaultSchema, {
        spec: {
          case: "latency",
          value: { delay: durationFromMs(config.LATENCY_MS), jitter: durationFromMs(config.LATENCY_JITTER_MS), rate: 0 },
        },
        source: "config",
      }),
      { permanent: true },
    );
  }
}

function waitForReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once("ready", done);
  });
}

/** Wires the backend: PostgreSQL pool and migrations, Valkey client, fault hooks, and the mesh server. */
export async function startBackend(config: BackendConfig, deps: BackendDeps): Promise<Backend> {
  const { logger } = deps;
  const pool = createPool({
    url: config.DATABASE_URL,
    applicationName: config.INSTANCE_ID,
    max: config.DB_POOL_MAX,
    connectionTimeoutMillis: config.DB_CONNECT_TIMEOUT_MS,
    onError: (err) => logger.warn({ err }, "idle PostgreSQL connection failed"),
  });
  if (config.MIGRATE_ON_START) {
    const result = await migrate(pool, { dir: migrationsDir, logger });
    if (result.applied.length > 0) logger.info({ applied: result.applied }, "migrations applied");
  }
  const redis = new Redis(config.REDIS_URL, {
    connectionName: config.INSTANCE_ID,
    // Fail commands at once while disconnected instead of queueing them: callers fall back or report Unavailable.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let redisDown = false;
  redis.on("error", (err) => {
    if (!redisDown) logger.warn({ err: { message: err.message } }, "Valkey connection lost; reconnecting");
    redisDown = true;
  });
  redis.on("ready", () => {
    if (redisDown) logger.info("Valkey connection restored");
    redisDown = false;
  });
  // Give the first connection a moment so health starts SERVING; a Valkey that is down does not stop the start.
  await waitForReady(redis, 2000);

  const effects = createFaultEffects({ exit: deps.exit });
  const faults = createFaultRegistry({
    onStart(fault) {
      logger.warn({ fault_id: fault.id, kind: fault.spec.case, source: fault.source }, "fault injected");
      effects.start(fault);
    },
    onEnd(fault, reason) {
      logger.info({ fault_id: fault.id, kind: fault.spec.case, reason }, "fault ended");
      effects.stop(fault);
    },
  });
  injectConfiguredFaults(config, faults);

  const service = await startMeshService({
    service: "backend",
    instanceId: config.INSTANCE_ID,
    version: config.MESH_VERSION,
    host: config.HOST,
    port: config.PORT,
    logger,
    healthChecks: { postgres: pgCheck(pool), redis: redisCheck(redis) },
    healthIntervalMs: config.HEALTH_CHECK_INTERVAL_MS,
    status: {
      database: createPostgresProbe(pool, config.DB_POOL_MAX),
      cache: createRedisProbe(redis),
      activeFaults: () => faults.list(),
    },
    interceptors: [createFaultInterceptor(faults)],
    registration: config.CONTROL_URL === undefined ? undefined : { controlUrl: config.CONTROL_URL, advertiseUrl: config.ADVERTISE_URL },
    routes(router) {
      router.service(FaultService, createFaultService(faults));
    },
  });

  return {
    service,
    get url() {
      return service.server.url;
    },
    faults,
    async stop(graceMs) {
      await service.drain(graceMs);
      faults.close();
      await Promise.allSettled([pool.end(), redis.quit()]);
    },
  };
}
