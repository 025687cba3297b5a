import { register as registerHooks, supportsSyncHooks } from "import-in-the-middle/register-hooks.mjs";
import { z } from "zod";
import { ConfigError, loadConfig, processConfigShape } from "../config/load-config.ts";
import { startTelemetry, type Telemetry } from "./start-telemetry.ts";

const telemetryConfigSchema = z.object({
  INSTANCE_ID: processConfigShape.INSTANCE_ID,
  MESH_VERSION: processConfigShape.MESH_VERSION,
  OTEL_EXPORTER_OTLP_ENDPOINT: processConfigShape.OTEL_EXPORTER_OTLP_ENDPOINT,
  OTEL_TRACES_SAMPLER_ARG: processConfigShape.OTEL_TRACES_SAMPLER_ARG,
  OTEL_EXPORTER_OTLP_PROTOCOL: processConfigShape.OTEL_EXPORTER_OTLP_PROTOCOL,
  OTEL_BSP_SCHEDULE_DELAY: processConfigShape.OTEL_BSP_SCHEDULE_DELAY,
});

/** Modules the instrumentations patch; only these go through the ESM hook. */
const instrumented = ["http", "node:http", "https", "node:https", "pg", "pg-pool", "ioredis"];

// The SDK is process-wide (it installs the global tracer provider), so its handle is too: the preload starts
// it before main.ts is imported and main.ts flushes it at shutdown.
let telemetry: Telemetry | undefined;

/**
 * Entry of a service's `--import` preload: installs the ESM hook for the instrumented modules (before any of
 * them is imported) and starts the SDK; the preload awaits it. `main.ts` later calls `shutdownTelemetry()` to flush.
 */
export async function bootstrapTelemetry(serviceName: string, env: Readonly<Record<string, string | undefined>>): Promise<void> {
  let config;
  try {
    config = loadConfig(telemetryConfigSchema, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // main.ts reports configuration errors with every variable; telemetry just stays off.
    return;
  }
  // The ESM hook is only needed for the SDK's instrumentations, which run only with an exporter.
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined && supportsSyncHooks()) registerHooks({ include: instrumented });
  telemetry = await startTelemetry({
    serviceName,
    instanceId: config.INSTANCE_ID ?? serviceName,
    version: config.MESH_VERSION,
    endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    ratio: config.OTEL_TRACES_SAMPLER_ARG,
    protocol: config.OTEL_EXPORTER_OTLP_PROTOCOL,
    exportDelayMs: config.OTEL_BSP_SCHEDULE_DELAY,
  });
}

/** Flushes and stops the SDK started by bootstrapTelemetry, if any. */
export async function shutdownTelemetry(): Promise<void> {
  await telemetry?.shutdown();
  telemetry = undefined;
}
