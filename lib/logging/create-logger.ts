import { pino, type Logger, type LevelWithSilent } from "pino";

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
 * JSON logs, one object a line, with the service and instance on every line. The tracing interceptor adds
 * `trace_id`, `span_id` and `request_id` through child loggers.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { service: options.service, instance: options.instance },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
