import { z } from "zod";
import { env, loadConfig } from "../lib/config/load-config.ts";

const startConfigSchema = z.object({
  MESH_GATEWAY_PORT: env.port(8080),
  MESH_CONTROL_PORT: env.port(8090),
  /** backend-1 listens here, backend-2 on the next port, and so on. */
  MESH_BACKEND_PORT: env.port(4001),
  MESH_BACKENDS: env.int(2, 1, 16),
  MESH_DATA_DIR: z.string().min(1).default(".mesh"),
  /** The seeds' demo profile: backend-1 fails 15 % of calls, backend-2 20 %. */
  MESH_DEMO: env.bool(false),
  DATABASE_URL: env.url(["postgres", "postgresql"]).optional(),
  REDIS_URL: env.url(["redis", "rediss"]).optional(),
  LOG_LEVEL: env.oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"], "info"),
  OTEL_EXPORTER_OTLP_ENDPOINT: env.url(["http", "https"]).optional(),
  /** Jaeger's UI, such as http://localhost:16686: passed to the gateway so the dashboard links traces there. */
  JAEGER_UI_URL: env.url(["http", "https"]).optional(),
  PATH: z.string().default("/usr/local/bin:/usr/bin:/bin"),
});

export type StartConfig = z.infer<typeof startConfigSchema>;

/** Settings of `npm start`; throws ConfigError naming every bad variable. */
export function readStartConfig(source: Readonly<Record<string, string | undefined>> = process.env): StartConfig {
  return loadConfig(startConfigSchema, source);
}
