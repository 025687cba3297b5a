import { ConfigError } from "../config/load-config.ts";
import { InfraError } from "../infra/infra-error.ts";
import { createLogger, type Logger } from "../logging/create-logger.ts";
import { shutdownTelemetry } from "../telemetry/bootstrap-telemetry.ts";
import { flushed, installShutdown } from "./graceful-shutdown.ts";

interface ProcessConfig {
  INSTANCE_ID: string;
  LOG_LEVEL: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  SHUTDOWN_GRACE_MS: number;
}

export interface RunServiceOptions<C extends ProcessConfig> {
  /** The service's name, for messages and logs. */
  name: string;
  /** Reads and validates the configuration; throws ConfigError. */
  readConfig: () => C;
  /** Starts the service; resolves once it serves. */
  start: (config: C, logger: Logger) => Promise<{ readonly url: string; stop(graceMs: number): Promise<void> }>;
}

/**
 * The body of every service's main.ts: configuration (exit 1 naming every bad variable), logger, start (exit 1
 * with a one-line reason and fix), and graceful shutdown on SIGTERM/SIGINT.
 */
export async function runService<C extends ProcessConfig>(options: RunServiceOptions<C>): Promise<void> {
  let config: C;
  try {
    config = options.readConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`${options.name}: ${err.message}`);
    process.exit(1);
  }
  const logger = createLogger({ service: options.name, instance: config.INSTANCE_ID, level: config.LOG_LEVEL });
  try {
    const running = await options.start(config, logger);
    installShutdown({
      logger,
      steps: [
        { name: "drain", run: () => running.stop(config.SHUTDOWN_GRACE_MS) },
        { name: "telemetry", run: shutdownTelemetry },
      ],
    });
    logger.info({ url: running.url }, `${options.name} serving`);
  } catch (err) {
    const message = err instanceof InfraError ? err.describe() : err instanceof Error ? err.message : String(err);
    logger.fatal({ err }, `${options.name} failed to start`);
    await flushed(logger);
    console.error(`${options.name}: failed to start: ${message}`);
    process.exit(1);
  }
}
