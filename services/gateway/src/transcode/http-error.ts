import { Code, ConnectError } from "@connectrpc/connect";
import { httpStatusOf as httpStatusOfCode } from "../../../../lib/errors/http-status.ts";

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


/** The HTTP status a REST client gets for an error. */
export function httpStatusOf(err: ConnectError): number {
  if (isHttpStatusError(err)) return err.httpStatus;
  return httpStatusOfCode(err.code);
}
