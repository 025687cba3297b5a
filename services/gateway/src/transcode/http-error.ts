import { Code, ConnectError } from "@connectrpc/connect";

/**
 * A ConnectError that the REST edge answers with a given HTTP status instead of the code's usual one: the
 * gateway's own failures (404 unknown route, 405 wrong method with `Allow`, 413 too large, 415 not JSON).
 * The body is the same google.rpc.Status as for any other error. It keeps the name "ConnectError", which
 * ConnectError's `instanceof` check relies on.
 */
export class HttpStatusError extends ConnectError {
  readonly httpStatus: number;
  readonly httpHeaders: Readonly<Record<string, string>>;
  /** The request was answered before its body was read: an HTTP/1.1 connection must close afterwards. */
  readonly closeConnection: boolean;

  constructor(httpStatus: number, code: Code, message: string, httpHeaders: Readonly<Record<string, string>> = {}, closeConnection = false) {
    super(message, code);
    this.httpStatus = httpStatus;
    this.httpHeaders = httpHeaders;
    this.closeConnection = closeConnection;
  }
}

/**
 * ConnectError answers `instanceof` for any ConnectError-like value (Symbol.hasInstance), subclasses
 * included, so the subclass is recognised by its field.
 */
export function isHttpStatusError(err: unknown): err is HttpStatusError {
  return err instanceof ConnectError && typeof (err as Partial<HttpStatusError>).httpStatus === "number";
}

export function httpError(
  status: number,
  code: Code,
  message: string,
  headers?: Record<string, string>,
  closeConnection?: boolean,
): HttpStatusError {
  return new HttpStatusError(status, code, message, headers, closeConnection);
}

/**
 * HTTP status for each code, as grpc-gateway, Vanguard and Connect map them
 * (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto).
 */
const statusByCode: Readonly<Record<Code, number>> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/** The HTTP status a REST client gets for an error. */
export function httpStatusOf(err: ConnectError): number {
  if (isHttpStatusError(err)) return err.httpStatus;
  return statusByCode[err.code] ?? 500;
}
