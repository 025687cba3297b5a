/**
 * Which PostgreSQL failures are worth another attempt, in one table (SQLSTATE prefixes and codes,
 * https://www.postgresql.org/docs/current/errcodes-appendix.html). "connection" failures also count
 * towards the circuit breaker: they say the database is unreachable, not that the request was wrong.
 */
const retryableSqlStates: ReadonlyArray<readonly [RegExp, "connection" | "conflict"]> = [
  [/^08/, "connection"], // connection_exception and its subclasses
  [/^57P0[1-3]$/, "connection"], // admin_shutdown, crash_shutdown, cannot_connect_now
  [/^53300$/, "connection"], // too_many_connections: refused at connect time
  [/^40001$/, "conflict"], // serialization_failure: the transaction was rolled back
  [/^40P01$/, "conflict"], // deadlock_detected: the transaction was rolled back
];

const networkCodes = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/** Messages pg uses for a lost or unobtainable connection (it sets no code on them). */
const connectionMessages = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|not queryable/i;

function codeOf(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

function sqlStateKind(err: unknown): "connection" | "conflict" | undefined {
  const code = codeOf(err);
  if (code === undefined || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  return retryableSqlStates.find(([pattern]) => pattern.test(code))?.[1];
}

/** The database is unreachable, refused the connection, or dropped it. */
export function isConnectionFailure(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined && networkCodes.has(code)) return true;
  if (sqlStateKind(err) === "connection") return true;
  return err instanceof Error && connectionMessages.test(err.message);
}

/** A serialization failure or deadlock: PostgreSQL rolled the transaction back, so running it again is safe. */
export function isRolledBackConflict(err: unknown): boolean {
  return sqlStateKind(err) === "conflict";
}

/** Read-only work: any transient failure may be retried. */
export function isRetryableRead(err: unknown): boolean {
  return isConnectionFailure(err) || isRolledBackConflict(err);
}

/**
 * A write transaction may run again only when the failure proves it did not commit: a conflict PostgreSQL
 * rolled back, or a connection failure before COMMIT was sent (PostgreSQL never commits an open
 * transaction whose session ends). A connection lost while COMMIT is in flight leaves the outcome unknown.
 */
export function isRetryableWrite(err: unknown, commitSent: boolean): boolean {
  if (isRolledBackConflict(err)) return true;
  return !commitSent && isConnectionFailure(err);
}
