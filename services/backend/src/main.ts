import { ConfigError } from "../../../lib/config/load-config.ts";
import { InfraError } from "../../../lib/infra/infra-error.ts";
import { createLogger } from "../../../lib/logging/create-logger.ts";
import { installShutdown } from "../../../lib/server/graceful-shutdown.ts";
import { shutdownTelemetry } from "../../../lib/telemetry/bootstrap-telemetry.ts";
import { startBackend } from "./backend.ts";
import { readBackendConfig } from "./config.ts";

let config;
try {
  config = readBackendConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`backend: ${err.message}`);
  process.exit(1);
}

const logger = createLogger({ service: "backend", instance: config.INSTANCE_ID, level: config.LOG_LEVEL });
try {
  const backend = await startBackend(config, {
    logger,
    exit(code) {
      logger.fatal({ code }, "crash fault: exiting");
      logger.flush();
      process.exit(code);
    },
  });
  installShutdown({
    logger,
    steps: [
      { name: "drain", run: () => backend.stop(config.SHUTDOWN_GRACE_MS) },
      { name: "telemetry", run: shutdownTelemetry },
    ],
  });
  logger.info({ url: backend.service.server.url }, "backend serving");
} catch (err) {
  const message = err instanceof InfraError ? err.describe() : err instanceof Error ? err.message : String(err);
  logger.fatal({ err }, "backend failed to start");
  logger.flush();
  console.error(`backend: failed to start: ${message}`);
  process.exit(1);
}
