import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Redis } from "ioredis";
import { QueueService } from "../../../gen/mesh/queue/v1/queue_pb.ts";
import { FaultSchema, FaultService } from "../../../gen/mesh/chaos/v1/fault_pb.ts";
import { DataService } from "../../../gen/mesh/data/v1/data_pb.ts";
import { Code as RpcCode } from "../../../gen/google/rpc/code_pb.ts";
import { createPool } from "../../../lib/db/create-pool.ts";
import { migrate } from "../../../lib/db/migrate.ts";
import { pgCheck } from "../../../lib/health/pg-check.ts";
import { redisCheck } from "../../../lib/health/redis-check.ts";
import { createServiceCredentialInterceptor, requireServiceCredential, startServiceCredential } from "../../../lib/auth/service-credential.ts";
import type { Logger } from "../../../lib/logging/create-logger.ts";
import { startMeshService, type MeshService } from "../../../lib/server/start-mesh-service.ts";
import { createPostgresProbe, createRedisProbe } from "../../../lib/status/dependency-probes.ts";
import type { BackendConfig } from "./config.ts";
import { createCacheClient } from "./data/cache-client.ts";
import { createDataMetrics } from "./data/data-metrics.ts";
import { createDataService } from "./data/data-service.ts";
import { createDbRunner } from "./data/db-runner.ts";
import { startIdempotencyReaper } from "./data/idempotency-reaper.ts";
import { createItemStore } from "./data/item-store.ts";
import { createReadThroughCache, type ReadThroughCache } from "./data/read-through-cache.ts";
import { createUserStore } from "./data/user-store.ts";
import { createDependencyFaultGate } from "./faults/dependency-fault-gate.ts";
import { createFaultEffects } from "./faults/fault-effects.ts";
import { createFaultInterceptor } from "./faults/fault-interceptor.ts";
import { createFaultMetrics } from "./faults/fault-metrics.ts";
import { createFaultRegistry, type FaultRegistry } from "./faults/fault-registry.ts";
import { createFaultService } from "./faults/fault-service.ts";
import { createQueueModule } from "./queue/queue-module.ts";

export const migrationsDir = fileURLToPath(new URL("../migrations", import.meta.url));

export interface Backend {
  readonly service: MeshService;
  readonly url: string;
  readonly faults: FaultRegistry;
  /** The data service's read-through cache (its key names, pending invalidations). */
  readonly cache: ReadThroughCache;
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

/**
 * Wires the backend: PostgreSQL pool and migrations, Valkey client, fault hooks, the data layer (database
 * runner, cache, stores) and the data service, and the mesh server with the data layer's metrics.
 */
export async function startBackend(config: BackendConfig, deps: BackendDeps): Promise<Backend> {
  const { logger } = deps;
  const pool = createPool({
    url: config.DATABASE_URL,
    applicationName: config.INSTANCE_ID,
    max: config.DB_POOL_MAX,
    connectionTimeoutMillis: config.DB_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: config.DB_IDLE_TIMEOUT_MS,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    // Only the message and code: pg's error carries its client, whose serialisation is a page of internals.
    onError: (err) => logger.warn({ err: { message: err.message, code: (err as { code?: unknown }).code } }, "idle PostgreSQL connection failed"),
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
  const queue = createQueueModule({ redis, pool, logger, config });

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
  const faultMetrics = createFaultMetrics(faults);
  const gate = createDependencyFaultGate(faults, { onEffect: faultMetrics.onDependencyEffect });

  const dataMetrics = createDataMetrics(pool);
  const db = createDbRunner(
    { pool, gate, logger, metrics: dataMetrics },
    {
      statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
      slowQueryMs: config.SLOW_QUERY_MS,
      retries: config.DB_RETRIES,
      retryBaseMs: config.DB_RETRY_BASE_MS,
      breakerThreshold: config.DB_BREAKER_THRESHOLD,
      breakerHalfOpenMs: config.DB_BREAKER_HALF_OPEN_MS,
      concurrency: config.DB_POOL_MAX,
      queueLimit: config.DB_QUEUE_LIMIT,
    },
  );
  const cacheClient = createCacheClient(
    { redis, gate, logger, metrics: dataMetrics },
    {
      timeoutMs: config.CACHE_TIMEOUT_MS,
      breakerThreshold: config.CACHE_BREAKER_THRESHOLD,
      breakerHalfOpenMs: config.CACHE_BREAKER_HALF_OPEN_MS,
    },
  );
  const cache = createReadThroughCache(
    { client: cacheClient, logger, metrics: dataMetrics },
    {
      ttlMs: config.CACHE_TTL_SECONDS * 1000,
      negativeTtlMs: config.CACHE_NEGATIVE_TTL_SECONDS * 1000,
      keyPrefix: config.CACHE_KEY_PREFIX,
    },
  );
  const items = createItemStore(db, { idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS });
  const users = createUserStore(db);
  const reaper = startIdempotencyReaper(db, logger, { ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS });
  const dataService = createDataService(
    { items, users, cache },
    { maxValueBytes: config.MAX_VALUE_BYTES, maxMetadataBytes: config.MAX_METADATA_BYTES },
  );

  // With the mesh's service secret, only mesh processes (the gateway, control) may call the data, queue and
  // fault services; this backend presents its own credential to control when it registers.
  const secret = config.MESH_SERVICE_SECRET;
  const credential = secret === undefined ? undefined : await startServiceCredential({ secret, subject: config.INSTANCE_ID });
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
    interceptors: [...(secret === undefined ? [] : [requireServiceCredential({ secret })]), createFaultInterceptor(faults)],
    registration:
      config.CONTROL_URL === undefined
        ? undefined
        : {
            controlUrl: config.CONTROL_URL,
            advertiseUrl: config.ADVERTISE_URL,
            interceptors: credential === undefined ? [] : [createServiceCredentialInterceptor(credential)],
          },
    routes(router) {
      router.service(DataService, dataService);
      router.service(QueueService, queue.service);
      router.service(FaultService, createFaultService(faults));
    },
  });
  dataMetrics.register(service.registry);
  faultMetrics.register(service.registry);
  queue.registerMetrics(service.registry);
  queue.start();

  return {
    service,
    get url() {
      return service.server.url;
    },
    faults,
    cache,
    async stop(graceMs) {
      // The queue first ends Consume streams and long-polls, which would otherwise hold the drain open.
      await Promise.all([queue.stop(graceMs), service.drain(graceMs)]);
      reaper.stop();
      credential?.stop();
      cache.close();
      faults.close();
      await Promise.allSettled([pool.end(), redis.quit()]);
    },
  };
}
