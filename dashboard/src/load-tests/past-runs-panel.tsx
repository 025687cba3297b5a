import type { LoadTest } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import { EmptyState } from "../ui/empty-state.tsx";
import { ErrorState } from "../ui/error-state.tsx";
import { formatMs, formatPercent, formatRate } from "../ui/format.ts";
import { RelativeTime } from "../ui/relative-time.tsx";
import { actionsColumn, ResponsiveTable, type Column } from "../ui/responsive-table.tsx";
import { comparedFigures, compareRuns, formatDelta, loadTestStateLabel, summarizeRun, type RunSummary } from "./run-summary.ts";

const formatFigure = (run: RunSummary, key: (typeof comparedFigures)[number]["key"]) =>
  key === "throughput" ? `${formatRate(run.throughput)} req/s` : key === "errorRate" ? formatPercent(run.errorRate) : formatMs(run[key]);

const runColumns: readonly Column[] = [
  { label: "Run (tick to compare)" },
  { label: "State" },
  ...["Sent", "Throughput", "p50", "p95", "p99", "Errors"].map((label) => ({ label, numeric: true })),
  actionsColumn,
];

/** Past runs side by side; ticking two or more compares them against the oldest ticked. */
export function PastRunsPanel(props: {
  tests: readonly LoadTest[] | undefined;
  loadError: string | undefined;
  selected: ReadonlySet<string>;
  toggle: (id: string) => void;
  show: (id: string) => void;
  shownId: string | undefined;
  more: (() => void) | undefined;
}) {
  const runs = (props.tests ?? []).map(summarizeRun);
  // Oldest first, so the baseline is the earliest run ticked.
  const compared = runs.filter((r) => props.selected.has(r.id)).sort((a, b) => (a.startMs ?? 0) - (b.startMs ?? 0));
  const deltas = compareRuns(compared);
  return (
    <section class="panel" aria-labelledby="past-runs-title">
      <h3 id="past-runs-title">Past runs</h3>
      {props.loadError && (
        <ErrorState title="Could not list the load tests" message={props.loadError}>
          <p>The list refreshes when a test starts or ends, or when you reload the page.</p>
        </ErrorState>
      )}
      {props.tests === undefined && !props.loadError && <p class="hint">Loading…</p>}
      {props.tests !== undefined && runs.length === 0 && (
        <EmptyState title="No load tests yet">
          <p>Start one with the form; its results are kept here to compare with later runs.</p>
        </EmptyState>
      )}
      {compared.length >= 2 && (
        <div class="table-wrap">
          <table data-comparison>
            <caption>
              Comparison against the oldest selected run ({compared[0]!.name || compared[0]!.target})
            </caption>
            <thead>
              <tr>
                <th scope="col">Figure</th>
                {compared.map((r, i) => (
                  <th scope="col" class="num" key={r.id}>
                    {r.name || `run ${i + 1}`}
                    {r.startMs !== undefined && (
                      <div class="hint">
                        <RelativeTime ms={r.startMs} />
                      </div>
                    )}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {comparedFigures.map((figure) => (
                <tr key={figure.key}>
                  <th scope="row">
                    {figure.label} <span class="hint">({figure.better} is better)</span>
                  </th>
                  {compared.map((r, i) => {
                    const delta = deltas[i]![figure.key];
                    return (
                      <td class="num" key={r.id}>
                        {formatFigure(r, figure.key)}
                        {i > 0 && (
                          <div class={`compare-${delta.verdict}`}>
                            {formatDelta(delta)} {delta.verdict === "same" ? "" : delta.verdict === "better" ? "▲ better" : "▼ worse"}
                          </div>
                        )}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {runs.length > 0 && compared.length < 2 && <p class="hint">Tick two or more runs to compare them side by side.</p>}
      {runs.length > 0 && (
        <ResponsiveTable data-runs columns={runColumns}>
          {runs.map((r) => (
            <tr key={r.id} data-run-id={r.id} aria-current={props.shownId === r.id ? "true" : undefined}>
              <td class="cell-run">
                <label class="run-choice">
                  <input
                    type="checkbox"
                    checked={props.selected.has(r.id)}
                    onChange={() => props.toggle(r.id)}
                    aria-label={`Compare ${r.name || r.target}${r.startMs === undefined ? "" : ` of ${new Date(r.startMs).toLocaleString()}`}`}
                  />
                  <span>
                    {r.name && <strong>{r.name} </strong>}
                    <span class="mono">{r.target}</span>
                    {r.startMs !== undefined && (
                      <span class="hint run-when">
                        <RelativeTime ms={r.startMs} />, {(r.elapsedMs / 1000).toFixed(0)} s
                      </span>
                    )}
                  </span>
                </label>
              </td>
              <td data-label="State">{loadTestStateLabel(r.state)}</td>
              <td data-label="Sent" class="num">
                {r.sent.toLocaleString("en-US")}
              </td>
              <td data-label="Throughput" class="num">
                {formatRate(r.throughput)} req/s
              </td>
              <td data-label="p50" class="num">
                {formatMs(r.p50Ms)}
              </td>
              <td data-label="p95" class="num">
                {formatMs(r.p95Ms)}
              </td>
              <td data-label="p99" class="num">
                {formatMs(r.p99Ms)}
              </td>
              <td data-label="Errors" class="num">
                {formatPercent(r.errorRate)}
              </td>
              <td class="cell-actions">
                <button type="button" onClick={() => props.show(r.id)} disabled={props.shownId === r.id}>
                  {props.shownId === r.id ? "Shown" : "Show"}
                </button>
              </td>
            </tr>
          ))}
        </ResponsiveTable>
      )}
      {props.more && (
        <p>
          <button type="button" onClick={props.more}>
            Older runs
          </button>
        </p>
      )}
    </section>
  );
}
