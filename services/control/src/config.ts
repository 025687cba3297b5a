import { hostname } from "node:os";
import { z } from "zod";
import { ConfigError, env, loadConfig, processConfigShape } from "../../../lib/config/load-config.ts";

const controlConfigSchema = z.object({
  ...processConfigShape,
  PORT: env.port(8090),
  /**
   * Who runs the backends: `local` makes control supervise them (npm start); compose or kubernetes make
   * scaling answer which tool owns it; none means control runs nothing.
   */
  ORCHESTRATOR: env.oneOf(["local", "compose", "kubernetes", "none"], "none"),
  /** With ORCHESTRATOR=local: backends to start, the first one's port (the rest follow), their Valkey. */
  BACKEND_REPLICAS: env.int(2, 0, 16),
  BACKEND_PORT: env.port(4001),
  REDIS_URL: env.url(["redis", "rediss"]).optional(),
  /** Pool size of each supervised backend (npm start lowers it on PGlite). */
  BACKEND_DB_POOL_MAX: env.int(10, 1, 1000),
  /** The seeds' demo profile for supervised backends: backend-1 fails 15 % of calls, the others 20 %. */
  MESH_DEMO: env.bool(false),
  /** The gateway load tests go through. */
  GATEWAY_URL: env.url(["http", "https"]).default("http://127.0.0.1:8080"),
  /** Sent as `authorization: Bearer …` by load tests, when the gateway checks tokens. */
  LOAD_TEST_BEARER_TOKEN: z.string().min(1).max(8192).optional(),
  PATH: z.string().default("/usr/local/bin:/usr/bin:/bin"),
  /** Policies and the mesh event log live here, in the `control` schema. */
  DATABASE_URL: env.url(["postgres", "postgresql"]),
  /** How often control health-checks each registered instance. */
  HEALTH_PROBE_INTERVAL_MS: env.int(2000, 100, 600_000),
  /** Successes in a row that bring an instance back, and failures in a row that take it out. */
  HEALTHY_THRESHOLD: env.int(2, 1, 100),
  UNHEALTHY_THRESHOLD: env.int(3, 1, 100),
});

export type ControlConfig = z.infer<typeof controlConfigSchema> & { INSTANCE_ID: string };

/** The control plane's settings from the environment; throws ConfigError naming every bad variable. */
export function readControlConfig(source: Readonly<Record<string, string | undefined>> = process.env): ControlConfig {
  const config = loadConfig(controlConfigSchema, source);
  if (config.ORCHESTRATOR === "local" && config.REDIS_URL === undefined) {
    throw new ConfigError(["REDIS_URL: is required with ORCHESTRATOR=local (the supervised backends use it): expected a URL starting with redis://"]);
  }
  return { ...config, INSTANCE_ID: config.INSTANCE_ID ?? `control-${hostname()}-${process.pid}` };
}
