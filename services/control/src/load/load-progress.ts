import { build, type Histogram } from "hdr-histogram-js";

/** Figures a load worker reports: plain data, so it crosses the worker boundary as is. */
export interface ProgressReport {
  sent: number;
  succeeded: number;
  failed: number;
  failuresByCode: Record<string, number>;
  elapsedMs: number;
  achievedRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  done: boolean;
  error?: string;
}

export interface ProgressRecorder {
  record(latencyMs: number, failureCode: string | undefined): void;
  sent(): void;
  report(elapsedMs: number, done: boolean): ProgressReport;
}

/** Counts and an HDR latency histogram (microsecond resolution, 3 significant digits, up to 1 hour). */
export function createProgressRecorder(): ProgressRecorder {
  const histogram: Histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  let sent = 0;
  let succeeded = 0;
  let failed = 0;
  const failuresByCode: Record<string, number> = {};
  return {
    sent: () => void sent++,
    record(latencyMs, failureCode) {
      histogram.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
      if (failureCode === undefined) succeeded++;
      else {
        failed++;
        failuresByCode[failureCode] = (failuresByCode[failureCode] ?? 0) + 1;
      }
    },
    report(elapsedMs, done) {
      const done_ = succeeded + failed;
      const q = (p: number) => (done_ === 0 ? 0 : histogram.getValueAtPercentile(p) / 1000);
      return {
        sent,
        succeeded,
        failed,
        failuresByCode: { ...failuresByCode },
        elapsedMs,
        achievedRate: elapsedMs === 0 ? 0 : (done_ * 1000) / elapsedMs,
        p50Ms: q(50),
        p95Ms: q(95),
        p99Ms: q(99),
        maxMs: done_ === 0 ? 0 : histogram.maxValue / 1000,
        done,
      };
    },
  };
}
