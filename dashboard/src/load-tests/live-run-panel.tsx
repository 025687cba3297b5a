import { useMemo } from "preact/hooks";
import { LoadTestState, type LoadTest } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import { TimeSeriesChart, type ChartSeries } from "../charts/time-series-chart.tsx";
import type { StreamStatus } from "../streams/reconnect-loop.ts";
import { formatMs, formatPercent, formatRate, durationMs } from "../ui/format.ts";
import { ResponsiveTable } from "../ui/responsive-table.tsx";
import { StatusBadge, type Tone } from "../ui/status-badge.tsx";
import { StreamStatusBadge } from "../ui/stream-status-badge.tsx";
import type { ProgressHistory } from "./progress-history.ts";
import { loadTestStateLabel, summarizeRun } from "./run-summary.ts";

const stateTone: Record<number, Tone> = {
  [LoadTestState.UNSPECIFIED]: "unknown",
  [LoadTestState.RUNNING]: "ok",
  [LoadTestState.COMPLETED]: "ok",
  [LoadTestState.STOPPED]: "degraded",
  [LoadTestState.FAILED]: "failing",
};

/** One load test: live figures and chart while it runs, a Stop button, and the final percentile table. */
export function LiveRunPanel(props: {
  test: LoadTest;
  history: ProgressHistory;
  status: StreamStatus;
  canAct: boolean;
  stopping: boolean;
  stop: () => void;
  stopError: string | undefined;
}) {
  const { test, history } = props;
  const run = summarizeRun(test);
  const running = test.state === LoadTestState.RUNNING;
  const plannedMs = durationMs(test.spec?.duration);
  const series = useMemo<ChartSeries[]>(
    () => [
      { label: "throughput", unit: "req/s", values: history.throughput },
      { label: "p50", unit: "ms", values: history.p50Ms },
      { label: "p95", unit: "ms", values: history.p95Ms, dashed: true },
      { label: "p99", unit: "ms", values: history.p99Ms, dashed: true },
    ],
    [history],
  );
  const failures = Object.entries(test.progress?.failuresByCode ?? {}).sort((a, b) => Number(b[1] - a[1]));
  return (
    <section class="panel" aria-labelledby="live-run-title" data-load-test-id={test.id} data-state={loadTestStateLabel(test.state)}>
      <div class="panel-title">
        <h3 id="live-run-title">
          {run.name || run.target} {run.name && <span class="hint">{run.target}</span>}
        </h3>
        <span class="pill-list">
          <StatusBadge tone={stateTone[test.state] ?? "unknown"} label={loadTestStateLabel(test.state)} />
          {running && <StreamStatusBadge status={props.status} what="progress" />}
          {running && (
            <button type="button" class="danger" disabled={!props.canAct || props.stopping} onClick={props.stop}>
              {props.stopping ? "Stopping…" : "Stop"}
            </button>
          )}
        </span>
      </div>
      {props.stopError && (
        <p class="form-alert" role="alert">
          {props.stopError}
        </p>
      )}
      {test.state === LoadTestState.FAILED && test.error && (
        <p class="form-alert" role="alert">
          The test failed: {test.error}
        </p>
      )}
      {running && plannedMs > 0 && (
        <p>
          <label for="load-progress" class="visually-hidden">
            Elapsed
          </label>
          <progress id="load-progress" class="progress-bar" max={plannedMs} value={Math.min(run.elapsedMs, plannedMs)} />
          <span class="hint">
            {Math.floor(run.elapsedMs / 1000)} s of {Math.round(plannedMs / 1000)} s
          </span>
        </p>
      )}
      <dl class="figures" aria-live={running ? "polite" : undefined} aria-atomic="false">
        <div class="figure">
          <dt>Sent</dt>
          <dd data-figure="sent">{run.sent.toLocaleString("en-US")}</dd>
        </div>
        <div class="figure">
          <dt>Succeeded</dt>
          <dd data-figure="succeeded">{run.succeeded.toLocaleString("en-US")}</dd>
        </div>
        <div class="figure">
          <dt>Failed</dt>
          <dd data-figure="failed">
            {run.failed.toLocaleString("en-US")} <span class="hint">({formatPercent(run.errorRate)})</span>
          </dd>
        </div>
        <div class="figure">
          <dt>{running ? "Current rate" : "Throughput"}</dt>
          <dd data-figure="rate">{formatRate(run.throughput)} req/s</dd>
        </div>
        <div class="figure">
          <dt>p50</dt>
          <dd data-figure="p50">{formatMs(run.p50Ms)}</dd>
        </div>
        <div class="figure">
          <dt>p95</dt>
          <dd data-figure="p95">{formatMs(run.p95Ms)}</dd>
        </div>
        <div class="figure">
          <dt>p99</dt>
          <dd data-figure="p99">{formatMs(run.p99Ms)}</dd>
        </div>
      </dl>
      {history.timestampsMs.length > 1 && <TimeSeriesChart title="Throughput and latency during the run" timestampsMs={history.timestampsMs} series={series} height={200} />}
      {!running && (
        <ResponsiveTable
          data-final-percentiles
          caption={`Final latency percentiles over ${run.sent.toLocaleString("en-US")} requests in ${(run.elapsedMs / 1000).toFixed(1)} s`}
          columns={["p50", "p95", "p99", "max", "throughput", "errors"].map((label) => ({ label, numeric: true }))}
        >
          <tr>
            <td class="num" data-label="p50">{formatMs(run.p50Ms)}</td>
            <td class="num" data-label="p95">{formatMs(run.p95Ms)}</td>
            <td class="num" data-label="p99">{formatMs(run.p99Ms)}</td>
            <td class="num" data-label="max">{formatMs(run.maxMs)}</td>
            <td class="num" data-label="throughput">{formatRate(run.throughput)} req/s</td>
            <td class="num" data-label="errors">{formatPercent(run.errorRate)}</td>
          </tr>
        </ResponsiveTable>
      )}
      {failures.length > 0 && (
        <p class="hint">
          Failures by code: {failures.map(([code, n]) => `${code} ${n.toLocaleString("en-US")}`).join(", ")}
        </p>
      )}
    </section>
  );
}
