import { pino, type Logger, type LevelWithSilent } from "pino";
import { logCorrelation } from "../telemetry/request-context.ts";

export type { Logger } from "pino";

export interface LoggerOptions {
  /** The service's name, such as "backend". */
  service: string;
  /** The instance's id, such as "backend-1". */
  instance: string;
  /** Minimum level written. @default "info" */
  level?: LevelWithSilent;
  /** Where lines go. @default standard output */
  destination?: NodeJS.WritableStream;
}

/**
 * JSON logs, one object a line, with the service and instance on every line, and `trace_id`, `span_id` and
 * `request_id` of the active span and request on lines written while one is active.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { service: options.service, instance: options.instance },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: logCorrelation,
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
