import { create } from "@bufbuild/protobuf";
import { durationFromMillis } from "../proto/duration-from-millis.ts";
import type pg from "pg";
import type { Redis } from "ioredis";
import { ConnectionState, DependencyStatusSchema, type DependencyStatus } from "../../gen/mesh/health/v1/status_pb.ts";
import { raceSignal } from "../async/race-signal.ts";
import { queryWithTimeout } from "../db/query-with-timeout.ts";

/** Measures one dependency for the status RPC. Never throws: a failure is reported in the result. */
export type DependencyProbe = (signal: AbortSignal) => Promise<DependencyStatus>;

function describeFailure(err: unknown): string {
  const code = typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : "";
  return code ? `unreachable (${code})` : "unreachable";
}

export interface PostgresProbeOptions {
  /**
   * The ping's own statement_timeout, whatever its pooled connection carries from its last user.
   * @default 2000 (the status service's default probe timeout)
   */
  statementTimeoutMs?: number;
}

/** Pings PostgreSQL with `select 1` and reports the pool's counts. */
export function createPostgresProbe(pool: pg.Pool, poolSize: number, options: PostgresProbeOptions = {}): DependencyProbe {
  const timeoutMs = options.statementTimeoutMs ?? 2000;
  return async (signal) => {
    const base = {
      poolSize,
      poolTotal: pool.totalCount,
      poolIdle: pool.idleCount,
      poolWaiting: pool.waitingCount,
    };
    const started = performance.now();
    try {
      await raceSignal(queryWithTimeout(pool, "select 1", timeoutMs), signal);
      return create(DependencyStatusSchema, {
        ...base,
        state: ConnectionState.CONNECTED,
        latency: durationFromMillis(performance.now() - started),
      });
    } catch (err) {
      return create(DependencyStatusSchema, { ...base, state: ConnectionState.DISCONNECTED, error: describeFailure(err) });
    }
  };
}

/** Pings Valkey/Redis and reads `used_memory` from INFO. */
export function createRedisProbe(redis: Redis): DependencyProbe {
  return async (signal) => {
    const started = performance.now();
    try {
      await raceSignal(redis.ping(), signal);
      const latency = durationFromMillis(performance.now() - started);
      const info = await raceSignal(redis.info("memory"), signal);
      const used = /^used_memory:(\d+)/m.exec(info)?.[1];
      return create(DependencyStatusSchema, {
        state: ConnectionState.CONNECTED,
        latency,
        memoryUsedBytes: used === undefined ? 0n : BigInt(used),
      });
    } catch (err) {
      return create(DependencyStatusSchema, { state: ConnectionState.DISCONNECTED, error: describeFailure(err) });
    }
  };
}
