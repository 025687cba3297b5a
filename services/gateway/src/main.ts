import { runService } from "../../../lib/server/run-service.ts";
import { readGatewayConfig } from "./config.ts";
import { startGateway } from "./gateway.ts";

await runService({ name: "gateway", readConfig: () => readGatewayConfig(), start: (config, logger) => startGateway(config, { logger }) });
