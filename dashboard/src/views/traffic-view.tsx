import { Code, createClient } from "@connectrpc/connect";
import { useMemo, useState } from "preact/hooks";
import { TrafficService } from "../../../gen/mesh/control/v1/traffic_pb.ts";
import { TimeSeriesChart } from "../charts/time-series-chart.tsx";
import { okabeIto } from "../charts/chart-options.ts";
import type { StreamStatus } from "../streams/reconnect-loop.ts";
import { useStream } from "../streams/use-stream.ts";
import { balancerSplit, type SplitRow } from "../traffic/balancer-split.ts";
import { jaegerSearchUrl, jaegerSpikeUrl } from "../traffic/jaeger-link.ts";
import { highestAt, instanceLatencies, instanceRates, retryChart, routeLatencies, routeRates, type ChartData } from "../traffic/traffic-series.ts";
import { addTrafficPoints, emptyTrafficWindow, pointMs, servicesIn } from "../traffic/traffic-window.ts";
import { EmptyState } from "../ui/empty-state.tsx";
import { ErrorState } from "../ui/error-state.tsx";
import { formatPercent, formatRate } from "../ui/format.ts";
import { ResponsiveTable } from "../ui/responsive-table.tsx";
import { StreamStatusBadge } from "../ui/stream-status-badge.tsx";
import type { ViewProps } from "../view-props.ts";
import "../traffic/traffic-view.css";

/** Control keeps 15 minutes; the view shows the last 5 unless asked for more. */
const historyMs = 15 * 60_000;
const spans = [
  { ms: 5 * 60_000, label: "5 min" },
  { ms: 15 * 60_000, label: "15 min" },
];
/** The split is averaged over this span, so it does not jump with each report. */
const splitSpanMs = 30_000;
/** The service name of the gateway's spans in Jaeger. */
const gatewayTraceService = "gateway";

function StreamProblem(props: { status: StreamStatus }) {
  const { status } = props;
  if (status.kind !== "failed") return null;
  const hint =
    status.error.code === Code.PermissionDenied
      ? "Your token lacks the user role: sign in with a token that has it."
      : status.error.code === Code.Unimplemented
        ? "The control plane behind this gateway does not serve TrafficService yet: update and restart it."
        : "Check that the control plane is running and reachable from the gateway, then reload the page.";
  return (
    <ErrorState title="The traffic stream stopped" message={status.error.rawMessage}>
      <p>{hint}</p>
    </ErrorState>
  );
}

/** A link to the gateway's traces over a chart's time window, when Jaeger is configured. */
function TraceLink(props: { jaegerUrl: string | undefined; data: ChartData; what: string; latency: boolean }) {
  const { jaegerUrl, data } = props;
  const start = data.timestampsMs[0];
  const end = data.timestampsMs.at(-1);
  if (!jaegerUrl || start === undefined || end === undefined) return null;
  return (
    <p class="trace-link">
      <a href={jaegerSearchUrl({ jaegerUrl, service: gatewayTraceService, startMs: start - 10_000, endMs: end })} target="_blank" rel="noopener noreferrer">
        Gateway traces of {props.what} in Jaeger
      </a>
      {props.latency && <span class="hint"> · or click a point for the slow traces behind it</span>}
    </p>
  );
}

function Chart(props: { title: string; what: string; data: ChartData; jaegerUrl: string | undefined; latency?: boolean }) {
  const { data, jaegerUrl } = props;
  if (data.series.length === 0) return <p class="hint">{props.title}: no calls in this window.</p>;
  const onPointClick =
    props.latency && jaegerUrl
      ? (index: number) => {
          const at = data.timestampsMs[index];
          if (at !== undefined) window.open(jaegerSpikeUrl(jaegerUrl, at, highestAt(data.series, index)), "_blank", "noopener");
        }
      : undefined;
  return (
    <TimeSeriesChart title={props.title} timestampsMs={data.timestampsMs} series={data.series} height={200} onPointClick={onPointClick}>
      <TraceLink jaegerUrl={jaegerUrl} data={data} what={props.what} latency={props.latency === true} />
    </TimeSeriesChart>
  );
}

function SplitBars(props: { rows: SplitRow[]; jaegerUrl: string | undefined; endMs: number | undefined }) {
  const { rows, jaegerUrl, endMs } = props;
  if (rows.length === 0) return <p class="hint">No instance of this service took calls in the last {splitSpanMs / 1000} s.</p>;
  return (
    <ResponsiveTable
      class="split-table"
      caption={<span class="visually-hidden">Share of the calls each instance received over the last {splitSpanMs / 1000} seconds</span>}
      columns={[{ label: "Instance" }, { label: "Share of calls" }, { label: "Calls/s", numeric: true }, { label: "Success", numeric: true }, ...(jaegerUrl ? [{ label: "Traces" }] : [])]}
    >
      {rows.map((row, i) => (
        <tr key={row.instanceId} data-instance-id={row.instanceId}>
          <th scope="row" class="mono">
            {row.instanceId}
          </th>
          <td class="split-cell" data-label="Share of calls">
            <span class="split-bar" aria-hidden="true">
              <span style={{ width: `${Math.round(row.share * 100)}%`, background: okabeIto[i % okabeIto.length] }} />
            </span>
            <span class="split-value">{formatPercent(row.share)}</span>
          </td>
          <td class="num" data-label="Calls/s" data-rps={row.rps}>
            {row.rps.toFixed(1)}
          </td>
          <td class="num" data-label="Success">
            {formatPercent(row.successRate)}
          </td>
          {jaegerUrl && endMs !== undefined && (
            <td data-label="Traces">
              <a
                href={jaegerSearchUrl({ jaegerUrl, service: gatewayTraceService, startMs: endMs - splitSpanMs - 10_000, endMs, tags: { "mesh.instance.id": row.instanceId } })}
                target="_blank"
                rel="noopener noreferrer"
              >
                Jaeger<span class="visually-hidden"> traces of {row.instanceId}</span>
              </a>
            </td>
          )}
        </tr>
      ))}
    </ResponsiveTable>
  );
}

function RetryFigures(props: { retries: number; exhausted: number; use: number; ratio: number }) {
  return (
    <dl class="figures" aria-label="Retries now">
      <div class="figure">
        <dt>Retries/s</dt>
        <dd>{formatRate(props.retries)}</dd>
      </div>
      <div class="figure">
        <dt>Not retried (budget spent)/s</dt>
        <dd>{formatRate(props.exhausted)}</dd>
      </div>
      <div class="figure">
        <dt>Retry budget in use</dt>
        <dd>{formatPercent(props.use)}</dd>
      </div>
      <div class="figure">
        <dt>Budget</dt>
        <dd>{formatPercent(props.ratio)} of requests</dd>
      </div>
    </dl>
  );
}

/**
 * Traffic: per route and per instance request rate and latency over the last minutes, the load balancer's
 * split across instances, and retries with the retry budget's use, live from TrafficService.WatchTraffic.
 */
export function TrafficView(props: ViewProps) {
  const { transport, config } = props;
  const client = useMemo(() => createClient(TrafficService, transport), [transport]);
  const [traffic, setTraffic] = useState(emptyTrafficWindow);
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const [spanMs, setSpanMs] = useState(spans[0]!.ms);
  const stream = useStream(
    (signal) => client.watchTraffic({}, { signal }),
    [client],
    (message) => setTraffic((w) => addTrafficPoints(w, message.points, historyMs)),
  );

  const services = servicesIn(traffic);
  const service = chosen !== undefined && services.includes(chosen) ? chosen : (services[0] ?? "backend");
  const newest = traffic.points.at(-1);
  const endMs = newest ? pointMs(newest) : undefined;
  const shown = useMemo(() => (endMs === undefined ? [] : traffic.points.filter((p) => pointMs(p) >= endMs - spanMs)), [traffic, spanMs, endMs]);
  const charts = useMemo(
    () => ({
      routeRates: routeRates(shown, service),
      routeLatencies: routeLatencies(shown, service),
      instanceRates: instanceRates(shown, service),
      instanceLatencies: instanceLatencies(shown, service),
      retries: retryChart(shown, service),
    }),
    [shown, service],
  );
  const split = useMemo(() => balancerSplit(traffic.points, service, splitSpanMs, pointMs), [traffic, service]);
  const latestService = newest?.services.find((s) => s.service === service);
  const jaegerUrl = config.jaegerUrl;

  return (
    <div class="traffic">
      <section class="panel" aria-labelledby="traffic-title">
        <div class="panel-title">
          <h3 id="traffic-title">Live from the gateways</h3>
          <span class="header-status">
            <StreamStatusBadge status={stream.status} what="Traffic" />
          </span>
        </div>
        <div class="traffic-controls">
          {services.length > 1 && (
            <label>
              Service{" "}
              <select value={service} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
                {services.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
          )}
          <fieldset class="span-picker">
            <legend class="visually-hidden">Time window</legend>
            {spans.map((s) => (
              <label key={s.ms}>
                <input type="radio" name="traffic-span" checked={spanMs === s.ms} onChange={() => setSpanMs(s.ms)} /> Last {s.label}
              </label>
            ))}
          </fieldset>
        </div>
        <p class="hint">
          As the gateways see it, each point over their last 10 s; rates add up over gateways, latency is the highest gateway's.
          {!jaegerUrl && " Set JAEGER_UI_URL on the gateway to link the charts to traces in Jaeger."}
        </p>
        <StreamProblem status={stream.status} />
      </section>

      {traffic.points.length === 0 ? (
        stream.status.kind !== "failed" && (
          <EmptyState title="No traffic reported yet">
            <p>
              Gateways report every 2 s. Send some requests through the gateway, for example <code>curl {location.origin}/v1/items/any-id</code>, or start a
              load test, and the charts fill in.
            </p>
          </EmptyState>
        )
      ) : (
        <>
          <section class="panel" aria-labelledby="routes-title" data-section="routes">
            <h3 id="routes-title">Per route: {service}</h3>
            <div class="chart-grid">
              <Chart title="Requests per second by route" what="these routes" data={charts.routeRates} jaegerUrl={jaegerUrl} />
              <Chart title="Latency by route (p50 solid, p99 dashed)" what="these routes" data={charts.routeLatencies} jaegerUrl={jaegerUrl} latency />
            </div>
          </section>
          <section class="panel" aria-labelledby="instances-title" data-section="instances">
            <h3 id="instances-title">Per instance: {service}</h3>
            <div class="chart-grid">
              <Chart title="Attempts per second by instance" what="these instances" data={charts.instanceRates} jaegerUrl={jaegerUrl} />
              <Chart title="Attempt latency by instance (p50 solid, p99 dashed)" what="these instances" data={charts.instanceLatencies} jaegerUrl={jaegerUrl} latency />
            </div>
          </section>
          <section class="panel" aria-labelledby="split-title" data-section="split">
            <h3 id="split-title">Load balancer split: {service}</h3>
            <p class="hint">Share of the attempts each instance received over the last {splitSpanMs / 1000} s, retries included.</p>
            <SplitBars rows={split} jaegerUrl={jaegerUrl} endMs={endMs} />
          </section>
          <section class="panel" aria-labelledby="retries-title" data-section="retries">
            <h3 id="retries-title">Retries and retry budget: {service}</h3>
            {latestService && (
              <RetryFigures
                retries={latestService.retriesPerSecond}
                exhausted={latestService.budgetExhaustedPerSecond}
                use={latestService.budgetUse}
                ratio={latestService.budgetRatio}
              />
            )}
            <Chart title="Retries and budget use" what="this window" data={charts.retries} jaegerUrl={jaegerUrl} />
          </section>
        </>
      )}
    </div>
  );
}
