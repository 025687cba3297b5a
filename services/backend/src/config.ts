import { hostname } from "node:os";
import { z } from "zod";
import { env, loadConfig, processConfigShape } from "../../../lib/config/load-config.ts";

const backendConfigSchema = z.object({
  ...processConfigShape,
  PORT: env.port(4001),
  DATABASE_URL: env.url(["postgres", "postgresql"]),
  REDIS_URL: env.url(["redis", "rediss"]),
  /** The control plane to register with; unset runs the backend unregistered. */
  CONTROL_URL: env.url(["http", "https"]).optional(),
  DB_POOL_MAX: env.int(10, 1, 1000),
  DB_CONNECT_TIMEOUT_MS: env.int(5000, 100, 60_000),
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
