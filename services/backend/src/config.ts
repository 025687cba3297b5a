import { hostname } from "node:os";
import { z } from "zod";
import { env, loadConfig, processConfigShape } from "../../../lib/config/load-config.ts";
import { queueConfigShape } from "./queue/queue-config.ts";

const backendConfigSchema = z.object({
  ...processConfigShape,
  ...queueConfigShape,
  PORT: env.port(4001),
  DATABASE_URL: env.url(["postgres", "postgresql"]),
  REDIS_URL: env.url(["redis", "rediss"]),
  /** The control plane to register with; unset runs the backend unregistered. */
  CONTROL_URL: env.url(["http", "https"]).optional(),
  DB_POOL_MAX: env.int(10, 1, 1000),
  DB_CONNECT_TIMEOUT_MS: env.int(5000, 100, 60_000),
  /** Upper bound of every statement; a request's remaining deadline lowers it further. */
  DB_STATEMENT_TIMEOUT_MS: env.int(5000, 100, 600_000),
  DB_IDLE_TIMEOUT_MS: env.int(10_000, 100, 3_600_000),
  /** Retries of a transient PostgreSQL failure where retrying is safe (the seeds' 3). */
  DB_RETRIES: env.int(3, 0, 10),
  DB_RETRY_BASE_MS: env.int(25, 1, 10_000),
  /** Consecutive connection failures that open the PostgreSQL circuit breaker, and how long it stays open. */
  DB_BREAKER_THRESHOLD: env.int(5, 1, 1000),
  DB_BREAKER_HALF_OPEN_MS: env.int(1000, 10, 600_000),
  /** Database calls waiting for a pool connection beyond which new ones fail at once (ResourceExhausted). */
  DB_QUEUE_LIMIT: env.int(100, 0, 100_000),
  SLOW_QUERY_MS: env.int(100, 1, 600_000),
  CACHE_TTL_SECONDS: env.int(300, 1, 604_800),
  /** How long a NotFound is remembered. */
  CACHE_NEGATIVE_TTL_SECONDS: env.int(5, 1, 3600),
  /** Each Valkey call gives up after this long and the read goes to PostgreSQL. */
  CACHE_TIMEOUT_MS: env.int(100, 1, 60_000),
  CACHE_BREAKER_THRESHOLD: env.int(5, 1, 1000),
  CACHE_BREAKER_HALF_OPEN_MS: env.int(1000, 10, 600_000),
  /** Every cache key starts with this, so instances of one deployment share entries and others do not. */
  CACHE_KEY_PREFIX: z.string().min(1).max(100).default("mesh:data:"),
  /** Largest `value` of an item, and largest `metadata`, as JSON bytes. */
  MAX_VALUE_BYTES: env.int(65_536, 16, 4_000_000),
  MAX_METADATA_BYTES: env.int(16_384, 16, 4_000_000),
  /** How long an Idempotency-Key is remembered (24 h, as the API promises). */
  IDEMPOTENCY_TTL_SECONDS: env.int(86_400, 1, 2_592_000),
  HEALTH_CHECK_INTERVAL_MS: env.int(5000, 100, 600_000),
  ERROR_RATE: env.ratio(0),
  LATENCY_MS: env.int(0, 0, 60_000),
  LATENCY_JITTER_MS: env.int(0, 0, 60_000),
  MIGRATE_ON_START: env.bool(true),
});

export type BackendConfig = z.infer<typeof backendConfigSchema> & { INSTANCE_ID: string };

/** The backend's settings from the environment; throws ConfigError naming every bad variable. */
export function readBackendConfig(source: Readonly<Record<string, string | undefined>> = process.env): BackendConfig {
  const config = loadConfig(backendConfigSchema, source);
  return { ...config, INSTANCE_ID: config.INSTANCE_ID ?? `backend-${hostname()}-${process.pid}` };
}
