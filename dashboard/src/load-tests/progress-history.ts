import type { LoadTest } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import { summarizeRun } from "./run-summary.ts";

/** The figures of a running test over time, one point per WatchLoadTest message, for the live chart. */
export interface ProgressHistory {
  testId: string;
  timestampsMs: number[];
  throughput: number[];
  p50Ms: number[];
  p95Ms: number[];
  p99Ms: number[];
  errorRate: number[];
}

export const emptyHistory = (testId: string): ProgressHistory => ({ testId, timestampsMs: [], throughput: [], p50Ms: [], p95Ms: [], p99Ms: [], errorRate: [] });

/**
 * Adds a point for `test` at its start time plus elapsed time, once it has figures. A message of another
 * test starts a new history; one no later than the last point (a repeat after a reconnect) replaces nothing. Keeps the newest
 * `max` points. Never mutates.
 */
export function appendProgress(history: ProgressHistory, test: LoadTest, max = 3600): ProgressHistory {
  const base = history.testId === test.id ? history : emptyHistory(test.id);
  const run = summarizeRun(test);
  // The start's empty figures would draw a ramp from zero that never happened.
  if (run.startMs === undefined || (run.sent === 0 && run.elapsedMs === 0)) return base;
  const at = run.startMs + run.elapsedMs;
  const last = base.timestampsMs.at(-1);
  if (last !== undefined && at <= last) return base;
  const push = <T>(values: readonly T[], value: T) => [...values, value].slice(-max);
  return {
    testId: test.id,
    timestampsMs: push(base.timestampsMs, at),
    throughput: push(base.throughput, run.throughput),
    p50Ms: push(base.p50Ms, run.p50Ms),
    p95Ms: push(base.p95Ms, run.p95Ms),
    p99Ms: push(base.p99Ms, run.p99Ms),
    errorRate: push(base.errorRate, run.errorRate * 100),
  };
}
