// Preloaded with `node --import`, before main.ts, so the instrumentations can patch what they trace.
import { bootstrapTelemetry } from "../../../lib/telemetry/bootstrap-telemetry.ts";

bootstrapTelemetry("control", process.env);
