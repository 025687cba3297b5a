import { Counter, Gauge, Histogram, type Metric, type Registry } from "prom-client";

/** The pool figures `active_connections` reads at each scrape. */
export interface PoolCounts {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

export interface DataMetrics {
  /** db_query_duration_seconds{operation, outcome}: every statement, by operation name. */
  readonly dbQueryDuration: Histogram<"operation" | "outcome">;
  /** cache_hits_total{cache} / cache_misses_total{cache}: reads served from Valkey or not, one per read (also when concurrent reads share a lookup), by entry kind. */
  readonly cacheHits: Counter<"cache">;
  readonly cacheMisses: Counter<"cache">;
  /** cache_errors_total{operation}: Valkey calls that failed, timed out or met an open breaker. */
  readonly cacheErrors: Counter<"operation">;
  /** dependency_circuit_open{dependency}: 1 while a breaker is open. */
  readonly circuitOpen: Gauge<"dependency">;
  /** db_retries_total{operation}: transient failures retried. */
  readonly dbRetries: Counter<"operation">;
  /** Adds every series to the service's registry (it exists once the server runs). */
  register(registry: Registry): void;
}

const queryBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The data layer's series under the seeds' names. They are made before the server (the service needs them
 * to exist) and registered on its registry afterwards, so they carry its default labels.
 */
export function createDataMetrics(pool: PoolCounts): DataMetrics {
  const dbQueryDuration = new Histogram({
    name: "db_query_duration_seconds",
    help: "PostgreSQL statement time, by operation and outcome (ok or error).",
    labelNames: ["operation", "outcome"],
    buckets: queryBuckets,
    registers: [],
  });
  const cacheHits = new Counter({ name: "cache_hits_total", help: "Read-through cache hits, by cache.", labelNames: ["cache"], registers: [] });
  const cacheMisses = new Counter({
    name: "cache_misses_total",
    help: "Read-through cache misses (including reads while Valkey is unavailable), by cache.",
    labelNames: ["cache"],
    registers: [],
  });
  const cacheErrors = new Counter({
    name: "cache_errors_total",
    help: "Valkey calls that failed, timed out or were refused by the open circuit breaker, by operation.",
    labelNames: ["operation"],
    registers: [],
  });
  const circuitOpen = new Gauge({
    name: "dependency_circuit_open",
    help: "1 while the circuit breaker in front of a dependency is open.",
    labelNames: ["dependency"],
    registers: [],
  });
  const dbRetries = new Counter({
    name: "db_retries_total",
    help: "Transient PostgreSQL failures that were retried, by operation.",
    labelNames: ["operation"],
    registers: [],
  });
  const activeConnections = new Gauge({
    name: "active_connections",
    help: "PostgreSQL pool connections checked out by requests now.",
    registers: [],
    collect() {
      this.set(pool.totalCount - pool.idleCount);
    },
  });
  const poolWaiting = new Gauge({
    name: "db_pool_waiting",
    help: "Requests waiting for a PostgreSQL pool connection now.",
    registers: [],
    collect() {
      this.set(pool.waitingCount);
    },
  });
  circuitOpen.set({ dependency: "database" }, 0);
  circuitOpen.set({ dependency: "cache" }, 0);
  return {
    dbQueryDuration,
    cacheHits,
    cacheMisses,
    cacheErrors,
    circuitOpen,
    dbRetries,
    register(registry) {
      const all: Metric[] = [dbQueryDuration, cacheHits, cacheMisses, cacheErrors, circuitOpen, dbRetries, activeConnections, poolWaiting];
      for (const metric of all) registry.registerMetric(metric);
    },
  };
}
