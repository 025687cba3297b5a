import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
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
  /** Where `npm start` keeps its generated secrets (relative to the current folder), as scripts/start.ts reads it. */
  MESH_DATA_DIR: z.string().min(1).default(".mesh"),
  /** Colour is off when set, as everywhere (https://no-color.org). */
  NO_COLOR: z.string().optional(),
});

export type CliConfig = z.infer<typeof cliConfigSchema>;

/** The CLI's settings from the environment; throws ConfigError naming every bad variable. */
export function readCliConfig(source: Readonly<Record<string, string | undefined>> = process.env): CliConfig {
  return loadConfig(cliConfigSchema, source);
}

/** The service secret from the config, else from the file `npm start` keeps in MESH_DATA_DIR; undefined without either. */
export function cliServiceSecret(config: CliConfig): string | undefined {
  if (config.MESH_SERVICE_SECRET !== undefined) return config.MESH_SERVICE_SECRET;
  const file = join(config.MESH_DATA_DIR, "service-secret");
  const secret = existsSync(file) ? readFileSync(file, "utf8").trim() : "";
  return secret.length >= 32 ? secret : undefined;
}
