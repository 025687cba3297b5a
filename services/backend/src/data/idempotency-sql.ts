import type { JsonValue } from "@bufbuild/protobuf";
import type { Query } from "./db-runner.ts";

/** A request made under an idempotency key. */
export interface KeyedRequest {
  readonly key: string;
  readonly requestHash: string;
  /** How long the key is remembered; an older key is claimed afresh. */
  readonly ttlSeconds: number;
}

/** What a key records: the request it was claimed for and that request's response (null until stored). */
export interface IdempotencyRecord {
  readonly requestHash: string;
  readonly response: JsonValue | null;
}

/**
 * The CTE `claim` of the statement that does a keyed request's work, so that the claim and the work commit
 * together: it claims the key for this request with `response` (an expression over the CTE `source`, the
 * statement's result computed before it is written) recorded at once, or claims afresh a key older than
 * its TTL. It has a row only when this statement claimed the key, and none without a key. A concurrent
 * claim of the same key waits on the unique index until the first transaction ends.
 * Parameters from `$first` on: key (NULL for none), request hash, TTL seconds; see keyParameters.
 */
export function claimKeyCte(source: string, response: string, first: number): string {
  const [key, requestHash, ttlSeconds] = [0, 1, 2].map((i) => `$${first + i}`);
  return `claim AS (
       INSERT INTO idempotency_keys (key, request_hash, response)
       SELECT ${key}::text, ${requestHash}::text, ${response} FROM ${source} WHERE ${key}::text IS NOT NULL
       ON CONFLICT (key) DO UPDATE SET request_hash = EXCLUDED.request_hash, response = EXCLUDED.response, created_at = now()
         WHERE idempotency_keys.created_at < now() - make_interval(secs => ${ttlSeconds}::double precision)
       RETURNING 1
     )`;
}

/**
 * A query for the same statement: the key's record (`request_hash`, `response`) as the statement's snapshot
 * shows it, when that is still the current one (unexpired: only expired keys are taken over). It shows
 * nothing when the key's claim committed after the statement began: selectIdempotencyRecord reads that.
 * Same parameters as claimKeyCte.
 */
export function visibleRecordQuery(first: number): string {
  const [key, ttlSeconds] = [`$${first}`, `$${first + 2}`];
  return `SELECT request_hash, response FROM idempotency_keys
            WHERE key = ${key}::text AND created_at >= now() - make_interval(secs => ${ttlSeconds}::double precision)`;
}

/** The values of claimKeyCte's three parameters, in order. */
export function keyParameters(request: KeyedRequest | undefined): unknown[] {
  return request === undefined ? [null, null, 0] : [request.key, request.requestHash, request.ttlSeconds];
}

/** The key's record as committed now; undefined when there is none. */
export async function selectIdempotencyRecord(query: Query, key: string): Promise<IdempotencyRecord | undefined> {
  const { rows } = await query<{ request_hash: string; response: JsonValue | null }>(
    "idempotency.select",
    "SELECT request_hash, response FROM idempotency_keys WHERE key = $1",
    [key],
  );
  const row = rows[0];
  return row === undefined ? undefined : { requestHash: row.request_hash, response: row.response };
}

/** Deletes up to `batch` keys older than `ttlSeconds`; returns how many. */
export async function deleteExpiredIdempotencyKeys(query: Query, ttlSeconds: number, batch: number): Promise<number> {
  const { rowCount } = await query(
    "idempotency.expire",
    `DELETE FROM idempotency_keys WHERE key IN (
       SELECT key FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1::double precision)
        ORDER BY created_at LIMIT $2)`,
    [ttlSeconds, batch],
  );
  return rowCount ?? 0;
}
