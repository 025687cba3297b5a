import type { JsonValue } from "@bufbuild/protobuf";
import type { Query } from "./db-runner.ts";

export type IdempotencyClaim =
  | { readonly claimed: true }
  | { readonly claimed: false; readonly requestHash: string; readonly response: JsonValue | null };

/**
 * Claims `key` for this transaction's request, or returns the request hash and response recorded under it.
 * A concurrent claim of the same key waits on the unique index until the first transaction ends, so the
 * loser always sees the winner's committed response. A key older than `ttlSeconds` is claimed afresh.
 */
export async function claimIdempotencyKey(query: Query, key: string, requestHash: string, ttlSeconds: number): Promise<IdempotencyClaim> {
  const claim = await query(
    "idempotency.claim",
    `INSERT INTO idempotency_keys (key, request_hash) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET request_hash = EXCLUDED.request_hash, response = NULL, created_at = now()
       WHERE idempotency_keys.created_at < now() - make_interval(secs => $3::double precision)
     RETURNING 1`,
    [key, requestHash, ttlSeconds],
  );
  if (claim.rowCount === 1) return { claimed: true };
  const { rows } = await query<{ request_hash: string; response: JsonValue | null }>(
    "idempotency.select",
    "SELECT request_hash, response FROM idempotency_keys WHERE key = $1",
    [key],
  );
  const row = rows[0]!;
  return { claimed: false, requestHash: row.request_hash, response: row.response };
}

export async function storeIdempotentResponse(query: Query, key: string, response: JsonValue): Promise<void> {
  await query("idempotency.store", "UPDATE idempotency_keys SET response = $2::jsonb WHERE key = $1", [key, JSON.stringify(response)]);
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
