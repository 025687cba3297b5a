import { LoadTestState, type LoadTest, type LoadTestSpec } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import { durationMs, timestampMs } from "../ui/format.ts";

/** A load test's figures, flat, for tables and comparison. */
export interface RunSummary {
  id: string;
  name: string;
  target: string;
  state: LoadTestState;
  startMs: number | undefined;
  /** Elapsed so far, or the whole run. */
  elapsedMs: number;
  sent: number;
  succeeded: number;
  failed: number;
  /** Failed over sent, 0 when nothing was sent. */
  errorRate: number;
  /** Requests per second achieved. */
  throughput: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** "rpc mesh.data.v1.DataService/ListItems" or "GET /v1/items". */
export function describeLoadTarget(spec: LoadTestSpec | undefined): string {
  switch (spec?.target.case) {
    case "rpc":
      return spec.target.value.method;
    case "http":
      return `${spec.target.value.method.toUpperCase()} ${spec.target.value.path}`;
    default:
      return "no target";
  }
}

const stateLabels: Record<number, string> = {
  [LoadTestState.UNSPECIFIED]: "unknown",
  [LoadTestState.RUNNING]: "running",
  [LoadTestState.COMPLETED]: "completed",
  [LoadTestState.STOPPED]: "stopped",
  [LoadTestState.FAILED]: "failed",
};

/** "running", "completed", "stopped", "failed" or "unknown". */
export function loadTestStateLabel(state: LoadTestState): string {
  return stateLabels[state] ?? "unknown";
}

export function summarizeRun(test: LoadTest): RunSummary {
  const p = test.progress;
  const sent = Number(p?.sent ?? 0n);
  const failed = Number(p?.failed ?? 0n);
  return {
    id: test.id,
    name: test.spec?.name ?? "",
    target: describeLoadTarget(test.spec),
    state: test.state,
    startMs: timestampMs(test.startTime),
    elapsedMs: durationMs(p?.elapsed),
    sent,
    succeeded: Number(p?.succeeded ?? 0n),
    failed,
    errorRate: sent === 0 ? 0 : failed / sent,
    throughput: p?.achievedRate ?? 0,
    p50Ms: durationMs(p?.latencyP50),
    p95Ms: durationMs(p?.latencyP95),
    p99Ms: durationMs(p?.latencyP99),
    maxMs: durationMs(p?.latencyMax),
  };
}

/** The figures runs are compared on, and which way is better. */
export const comparedFigures = [
  { key: "throughput", label: "Throughput", unit: "req/s", better: "higher" },
  { key: "p50Ms", label: "p50", unit: "ms", better: "lower" },
  { key: "p95Ms", label: "p95", unit: "ms", better: "lower" },
  { key: "p99Ms", label: "p99", unit: "ms", better: "lower" },
  { key: "errorRate", label: "Errors", unit: "%", better: "lower" },
] as const;

export type ComparedKey = (typeof comparedFigures)[number]["key"];

export interface Delta {
  /** Relative change from the baseline, such as 0.25 for +25 %; undefined when the baseline is 0. */
  relative: number | undefined;
  /** Whether the change is better, worse or the same (within 1 %). */
  verdict: "better" | "worse" | "same";
}

/**
 * Each run's change on every compared figure against the baseline (the first run): relative change and
 * whether it is better or worse given the figure's direction. The baseline's own deltas are "same".
 */
export function compareRuns(runs: readonly RunSummary[]): Array<Record<ComparedKey, Delta>> {
  const base = runs[0];
  return runs.map((run) => {
    const out = {} as Record<ComparedKey, Delta>;
    for (const figure of comparedFigures) {
      const from = base?.[figure.key] ?? 0;
      const to = run[figure.key];
      const relative = from === 0 ? (to === 0 ? 0 : undefined) : (to - from) / from;
      const changed = relative === undefined ? to !== from : Math.abs(relative) > 0.01;
      const up = to > from;
      const verdict = !changed ? "same" : up === (figure.better === "higher") ? "better" : "worse";
      out[figure.key] = { relative, verdict };
    }
    return out;
  });
}

/** "+25 %", "−3.4 %", "±0 %", or "new" when the baseline was 0. */
export function formatDelta(delta: Delta): string {
  if (delta.relative === undefined) return "new";
  const percent = delta.relative * 100;
  if (Math.abs(percent) < 0.05) return "±0 %";
  const text = Math.abs(percent) < 10 ? Math.abs(percent).toFixed(1) : Math.round(Math.abs(percent)).toString();
  return `${percent > 0 ? "+" : "−"}${text} %`;
}
