/** The part of a pino logger that lib/infra uses; a pino instance fits as is. */
export interface InfraLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export const silentLogger: InfraLogger = {
  info() {},
  warn() {},
};
