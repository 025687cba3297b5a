import type pg from "pg";

/** The part of a pg Pool (or Client) that queryWithTimeout uses. */
export interface SimpleQueryable {
  query(text: string): Promise<unknown>;
}

/**
 * Runs one statement under a statement_timeout of its own, whatever the session's value is: a pooled
 * connection may carry a session statement_timeout from its last user (the data runner sets one per
 * connection and tracks it), too short for this statement or too long to bound it.
 *
 * It is one simple-protocol query, `SET LOCAL statement_timeout = <ms>; <statement>`, which PostgreSQL runs
 * as one implicit transaction, arming the timeout afresh for each statement in it. SET LOCAL ends with that
 * transaction, so the session's value stays what its owner believes it is. Unlike an explicit BEGIN … COMMIT,
 * a failure (such as this timeout) rolls everything back and leaves no aborted transaction on the connection
 * the pool hands out next. The session's value still bounds parsing the text and the SET: microseconds.
 *
 * `statement` is a single statement without parameters (a simple query cannot have any): inline only values
 * you validated. It cannot be one that refuses to run inside a transaction block (VACUUM, CREATE DATABASE …).
 * Resolves with the statement's result.
 *
 * Relies on PostgreSQL 13 or later arming statement_timeout afresh for each statement of a multi-statement
 * query (the mesh runs 15 and later); before that, the session's value would bound the whole query.
 */
export async function queryWithTimeout<R extends pg.QueryResultRow = Record<string, unknown>>(
  db: SimpleQueryable,
  statement: string,
  timeoutMs: number,
): Promise<pg.QueryResult<R>> {
  if (!Number.isFinite(timeoutMs) || timeoutMs < 1) {
    throw new RangeError(`statement timeout must be at least 1 ms, got ${timeoutMs}: 0 would turn the timeout off`);
  }
  const results = await db.query(`SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}; ${statement}`);
  // pg answers a multi-statement query with one result per statement.
  const all = results as pg.QueryResult<R>[];
  return all[all.length - 1]!;
}
