import { z } from "zod";
import { env, loadConfig } from "../lib/config/load-config.ts";

const cliConfigSchema = z.object({
  /** The control plane the CLI talks to. */
  MESH_CONTROL_URL: env.url(["http", "https"]).default("http://127.0.0.1:8090"),
  /** Colour is off when set, as everywhere (https://no-color.org). */
  NO_COLOR: z.string().optional(),
});

export type CliConfig = z.infer<typeof cliConfigSchema>;

/** The CLI's settings from the environment; throws ConfigError naming every bad variable. */
export function readCliConfig(source: Readonly<Record<string, string | undefined>> = process.env): CliConfig {
  return loadConfig(cliConfigSchema, source);
}
