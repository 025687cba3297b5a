import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { env, loadConfig } from "../lib/config/load-config.ts";

const cliConfigSchema = z.object({
  /** The control plane the CLI talks to. */
  MESH_CONTROL_URL: env.url(["http", "https"]).default("http://127.0.0.1:8090"),
  /**
   * The mesh's service secret: with it the CLI presents the mesh's service credential, which a control plane
   * started with the same secret requires. When unset, the file `npm start` writes (.mesh/service-secret) is read
   * if it exists.
   */
  MESH_SERVICE_SECRET: z.string().min(32, { error: "expected at least 32 characters" }).optional(),
  /** Colour is off when set, as everywhere (https://no-color.org). */
  NO_COLOR: z.string().optional(),
});

export type CliConfig = z.infer<typeof cliConfigSchema>;

/** The CLI's settings from the environment; throws ConfigError naming every bad variable. */
export function readCliConfig(source: Readonly<Record<string, string | undefined>> = process.env): CliConfig {
  return loadConfig(cliConfigSchema, source);
}

/** The service secret from the config, else from the file `npm start` keeps in `dataDir`; undefined without either. */
export function cliServiceSecret(config: CliConfig, dataDir = ".mesh"): string | undefined {
  if (config.MESH_SERVICE_SECRET !== undefined) return config.MESH_SERVICE_SECRET;
  const file = `${dataDir}/service-secret`;
  return existsSync(file) ? readFileSync(file, "utf8").trim() || undefined : undefined;
}
