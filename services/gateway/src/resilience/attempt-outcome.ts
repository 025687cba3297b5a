import { Code, ConnectError } from "@connectrpc/connect";

/**
 * How one attempt on one instance ended. Attempts do not throw for upstream failures: they report them here,
 * so that the breaker and the retry policy (cockatiel's result filters) judge them with the call's context.
 */
export interface AttemptOutcome<T> {
  /** The RPC's code; undefined for OK. */
  readonly code: Code | undefined;
  /**
   * False when the request certainly never reached the instance's application (connection refused, stream
   * refused, breaker open, bulkhead full): resending it is safe whatever the method.
   */
  readonly reached: boolean;
  /** What goes back to the caller if this is the last attempt: a response, or the error to answer. */
  readonly value: T;
}

/** An attempt's outcome as the runner judged it. */
export interface JudgedOutcome<T> extends AttemptOutcome<T> {
  /** Counts against the instance's breaker. */
  readonly failure: boolean;
  /** The runner will try again on another instance. */
  readonly retry: boolean;
}

/** Codes that say the instance, not the request, is at fault: they count against its breaker. */
const instanceFailures = new Set<Code>([Code.Unavailable, Code.DeadlineExceeded, Code.Internal, Code.Unknown, Code.DataLoss]);

export function isInstanceFailure(code: Code | undefined): boolean {
  return code !== undefined && instanceFailures.has(code);
}

const notReached = new WeakSet<object>();

/** Marks an error raised before the request left for the instance. */
export function markNotReached<E extends object>(error: E): E {
  notReached.add(error);
  return error;
}

const refusedErrnos = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ERR_HTTP2_GOAWAY_SESSION"]);

/** True when the request certainly did not reach the instance: marked so, or a connection that was refused. */
export function wasNotReached(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    if (typeof e === "object" && notReached.has(e)) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && refusedErrnos.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** An outcome of a thrown error: a ConnectError's code, whether it reached the instance. */
export function outcomeOfError(error: unknown): AttemptOutcome<ConnectError> {
  const value = ConnectError.from(error);
  return { code: value.code, reached: !wasNotReached(error), value };
}
