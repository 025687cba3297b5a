// Preloaded with `node --import`, before main.ts, so the instrumentations can patch pg, ioredis and http.
import { bootstrapTelemetry } from "../../../lib/telemetry/bootstrap-telemetry.ts";

bootstrapTelemetry("backend", process.env);
