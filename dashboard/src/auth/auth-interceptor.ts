import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * Adds `Authorization: Bearer <token>` to every call, and reports an Unauthenticated answer (a missing,
 * expired or refused token) to `onUnauthenticated`, for unary calls and for server streams mid-flight.
 */
export function createAuthInterceptor(token: () => string | undefined, onUnauthenticated: () => void): Interceptor {
  const report = (err: unknown) => {
    if (err instanceof ConnectError && err.code === Code.Unauthenticated) onUnauthenticated();
  };
  return (next) => async (req) => {
    const current = token();
    if (current !== undefined) req.header.set("authorization", `Bearer ${current}`);
    try {
      const res = await next(req);
      if (!res.stream) return res;
      const messages = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* messages;
          } catch (err) {
            report(err);
            throw err;
          }
        })(),
      };
    } catch (err) {
      report(err);
      throw err;
    }
  };
}
