import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { BrokenCircuitError, BulkheadRejectedError, IsolatedCircuitError, TaskCancelledError } from "cockatiel";
import { BadRequestSchema, BadRequest_FieldViolationSchema } from "../../gen/google/rpc/error_details_pb.ts";

/** An InvalidArgument error naming the offending field and why, with a google.rpc.BadRequest detail. */
export function invalidArgument(field: string, reason: string): ConnectError {
  return invalidArguments([{ field, reason }]);
}

/** An InvalidArgument error for several fields at once. */
export function invalidArguments(violations: ReadonlyArray<{ field: string; reason: string }>): ConnectError {
  const message = violations.map((v) => `${v.field}: ${v.reason}`).join("; ");
  return new ConnectError(message, Code.InvalidArgument, undefined, [
    {
      desc: BadRequestSchema,
      value: create(BadRequestSchema, {
        fieldViolations: violations.map((v) =>
          create(BadRequest_FieldViolationSchema, { field: v.field, description: v.reason }),
        ),
      }),
    },
  ]);
}

export function notFound(what: string, id: string): ConnectError {
  return new ConnectError(`${what} ${JSON.stringify(id)} not found`, Code.NotFound);
}

/**
 * SQLSTATE classes and codes (https://www.postgresql.org/docs/current/errcodes-appendix.html) mapped to
 * Connect codes. Retryable states map to Unavailable or Aborted so callers and gateways can retry them.
 */
const sqlStateCodes: ReadonlyArray<readonly [RegExp, Code, string]> = [
  [/^08/, Code.Unavailable, "the database is unreachable"],
  [/^57P0[1-3]$/, Code.Unavailable, "the database is shutting down or starting"],
  [/^53300$/, Code.ResourceExhausted, "the database has too many connections"],
  [/^53/, Code.ResourceExhausted, "the database is out of resources"],
  [/^40001$/, Code.Aborted, "a concurrent transaction conflicted; retry"],
  [/^40P01$/, Code.Aborted, "a deadlock was detected; retry"],
  [/^57014$/, Code.DeadlineExceeded, "the query ran past its deadline"],
  [/^23505$/, Code.AlreadyExists, "a record with the same unique value already exists"],
  [/^23/, Code.InvalidArgument, "the request violates a data constraint"],
  [/^22/, Code.InvalidArgument, "a value is out of range or malformed"],
];

const networkErrorCodes = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND"]);

function errorCodeOf(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

/**
 * Maps any error to a ConnectError, once, at the edge. ConnectErrors pass through. pg, Redis, network and
 * cockatiel errors get the code that tells the caller what to do. Everything else becomes Internal with a
 * generic message: no stack, SQL text or internal detail reaches a client. The original stays in `cause`
 * for the server's logs.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) {
    // A request message that is not valid protobuf is the caller's mistake (connect-es says INTERNAL).
    if (err.code === Code.Internal && err.rawMessage.startsWith("parse binary:")) {
      return new ConnectError(`the request is not a valid protobuf message: ${err.rawMessage.slice("parse binary: ".length)}`, Code.InvalidArgument);
    }
    return err;
  }
  if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError) {
    return new ConnectError("a dependency is failing; its circuit breaker is open", Code.Unavailable, undefined, undefined, err);
  }
  if (err instanceof BulkheadRejectedError) {
    return new ConnectError("too many concurrent requests; retry later", Code.ResourceExhausted, undefined, undefined, err);
  }
  if (err instanceof TaskCancelledError) {
    return new ConnectError("the operation was cancelled or ran past its deadline", Code.DeadlineExceeded, undefined, undefined, err);
  }
  if (err instanceof Error && err.name === "AbortError") {
    return new ConnectError("the request was cancelled", Code.Canceled, undefined, undefined, err);
  }
  if (err instanceof Error && err.name === "TimeoutError") {
    return new ConnectError("the operation ran past its deadline", Code.DeadlineExceeded, undefined, undefined, err);
  }
  const code = errorCodeOf(err);
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    for (const [pattern, connectCode, message] of sqlStateCodes) {
      if (pattern.test(code)) return new ConnectError(message, connectCode, undefined, undefined, err);
    }
  }
  if (code !== undefined && networkErrorCodes.has(code)) {
    return new ConnectError("a dependency is unreachable", Code.Unavailable, undefined, undefined, err);
  }
  if (err instanceof Error && isConnectionLoss(err.message)) {
    return new ConnectError("a dependency is unreachable", Code.Unavailable, undefined, undefined, err);
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

/** Messages pg and ioredis use for a lost or refused connection. */
function isConnectionLoss(message: string): boolean {
  return /Connection is closed|Connection terminated|connect ECONNREFUSED|Stream isn't writeable|timeout exceeded when trying to connect|MaxRetriesPerRequestError|Reached the max retries/i.test(
    message,
  );
}

/** True for errors that are safe to retry on another attempt: the operation did not take effect. */
export function isTransient(err: unknown): boolean {
  const code = toConnectError(err).code;
  return code === Code.Unavailable || code === Code.Aborted || code === Code.ResourceExhausted;
}
