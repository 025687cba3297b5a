import { hostname } from "node:os";
import { z } from "zod";
import { env, loadConfig, processConfigShape } from "../../../lib/config/load-config.ts";

const controlConfigSchema = z.object({
  ...processConfigShape,
  PORT: env.port(8090),
});

export type ControlConfig = z.infer<typeof controlConfigSchema> & { INSTANCE_ID: string };

/** The control plane's settings from the environment; throws ConfigError naming every bad variable. */
export function readControlConfig(source: Readonly<Record<string, string | undefined>> = process.env): ControlConfig {
  const config = loadConfig(controlConfigSchema, source);
  return { ...config, INSTANCE_ID: config.INSTANCE_ID ?? `control-${hostname()}-${process.pid}` };
}
