import type { HealthCheck } from "./health-monitor.ts";

/** The part of a pg Pool (or Client) that pgCheck uses. */
export interface PgQueryable {
  query(text: string): Promise<unknown>;
}

/**
 * Passes when PostgreSQL answers `select 1` through the pool. pg queries take no AbortSignal: a
 * query stuck behind a full pool keeps waiting after the monitor's timeout has failed the check.
 */
export function pgCheck(pool: PgQueryable): HealthCheck {
  return async function pgCheck() {
    await pool.query("select 1");
  };
}
