import { queryWithTimeout, type SimpleQueryable } from "../db/query-with-timeout.ts";
import type { HealthCheck } from "./health-monitor.ts";

export interface PgCheckOptions {
  /**
   * The check's own statement_timeout, whatever its pooled connection carries from its last user.
   * @default 2000 (the health monitor's default timeout)
   */
  statementTimeoutMs?: number;
}

/**
 * Passes when PostgreSQL answers `select 1` through the pool. pg queries take no AbortSignal: a
 * query stuck behind a full pool keeps waiting after the monitor's timeout has failed the check.
 */
export function pgCheck(pool: SimpleQueryable, options: PgCheckOptions = {}): HealthCheck {
  const timeoutMs = options.statementTimeoutMs ?? 2000;
  return async function pgCheck() {
    await queryWithTimeout(pool, "select 1", timeoutMs);
  };
}
