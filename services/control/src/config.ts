import { hostname } from "node:os";
import { z } from "zod";
import { env, loadConfig, processConfigShape } from "../../../lib/config/load-config.ts";

const controlConfigSchema = z.object({
  ...processConfigShape,
  PORT: env.port(8090),
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
  return { ...config, INSTANCE_ID: config.INSTANCE_ID ?? `control-${hostname()}-${process.pid}` };
}
