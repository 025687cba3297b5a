import { runService } from "../../../lib/server/run-service.ts";
import { readControlConfig } from "./config.ts";
import { startControl } from "./control.ts";

await runService({ name: "control", readConfig: () => readControlConfig(), start: (config, logger) => startControl(config, { logger }) });
