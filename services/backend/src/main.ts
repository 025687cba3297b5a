import { flushed } from "../../../lib/server/graceful-shutdown.ts";
import { runService } from "../../../lib/server/run-service.ts";
import { startBackend } from "./backend.ts";
import { readBackendConfig } from "./config.ts";

await runService({
  name: "backend",
  readConfig: () => readBackendConfig(),
  start: (config, logger) =>
    startBackend(config, {
      logger,
      exit(code) {
        logger.fatal({ code }, "crash fault: exiting");
        void flushed(logger).then(() => process.exit(code));
      },
    }),
});
