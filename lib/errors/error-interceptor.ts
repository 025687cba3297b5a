import { Code, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import type { Logger } from "../logging/create-logger.ts";
import { toConnectError } from "./connect-errors.ts";

/**
 * The one place where handler errors become what clients see: every error passes through toConnectError, so
 * pg, Redis and cockatiel errors get meaningful codes and nothing internal (stack, SQL) leaks. Server-side
 * failures are logged with their cause; client mistakes are logged at debug.
 */
export function createErrorInterceptor(logger: Logger): Interceptor {
  const report = (err: unknown, procedure: string) => {
    const mapped = toConnectError(err);
    const serverFault = mapped.code === Code.Internal || mapped.code === Code.Unknown || mapped.code === Code.DataLoss;
    const cause = mapped.cause ?? err;
    if (serverFault) logger.error({ err: cause, procedure, code: Code[mapped.code] }, "rpc failed");
    else logger.debug({ procedure, code: Code[mapped.code], reason: mapped.rawMessage }, "rpc rejected");
    return mapped;
  };
  return (next) => async (req) => {
    const procedure = `${req.service.typeName}/${req.method.name}`;
    try {
      const res = await next(req);
      if (!res.stream) return res;
      const source = res.message;
      async function* mapped() {
        try {
          yield* source;
        } catch (err) {
          throw report(err, procedure);
        }
      }
      return { ...res, message: mapped() } as StreamResponse<any, any>;
    } catch (err) {
      throw report(err, procedure);
    }
  };
}
