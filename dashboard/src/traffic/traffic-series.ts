import type { GoldenMetrics } from "../../../gen/mesh/control/v1/metrics_pb.ts";
import type { TrafficPoint } from "../../../gen/mesh/control/v1/traffic_pb.ts";
import type { ChartSeries } from "../charts/chart-options.ts";
import { durationMs } from "../ui/format.ts";
import { pointMs } from "./traffic-window.ts";

/** The x values and lines of one chart. */
export interface ChartData {
  timestampsMs: number[];
  series: ChartSeries[];
}

type Keyed = { key: string; metrics?: GoldenMetrics };

/** The keyed rows of each point: the lines of a chart, in first-seen order, with null where a point lacks one. */
function lines(points: readonly TrafficPoint[], rows: (p: TrafficPoint) => readonly Keyed[], value: (m: GoldenMetrics | undefined) => number) {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const p of points) {
    for (const r of rows(p)) {
      if (!seen.has(r.key)) {
        seen.add(r.key);
        keys.push(r.key);
      }
    }
  }
  return keys.map((key) => ({
    key,
    values: points.map((p) => {
      const row = rows(p).find((r) => r.key === key);
      return row ? value(row.metrics) : null;
    }),
  }));
}

const routesOf = (service: string) => (p: TrafficPoint) => p.routes.filter((r) => r.service === service).map((r) => ({ key: r.route, metrics: r.metrics }));
const instancesOf = (service: string) => (p: TrafficPoint) => p.instances.filter((i) => i.service === service).map((i) => ({ key: i.instanceId, metrics: i.metrics }));
const rps = (m: GoldenMetrics | undefined) => m?.requestsPerSecond ?? 0;
const p50 = (m: GoldenMetrics | undefined) => durationMs(m?.latencyP50);
const p99 = (m: GoldenMetrics | undefined) => durationMs(m?.latencyP99);

function rateChart(points: readonly TrafficPoint[], rows: (p: TrafficPoint) => readonly Keyed[]): ChartData {
  return { timestampsMs: points.map(pointMs), series: lines(points, rows, rps).map((l) => ({ label: l.key, unit: "req/s", values: l.values })) };
}

function latencyChart(points: readonly TrafficPoint[], rows: (p: TrafficPoint) => readonly Keyed[]): ChartData {
  const fifty = lines(points, rows, p50);
  const ninetyNine = lines(points, rows, p99);
  // p50 solid and p99 dashed, side by side per key, so each key's pair reads together in the legend.
  const series = fifty.flatMap((l, i) => [
    { label: `${l.key} p50`, unit: "ms", values: l.values },
    { label: `${l.key} p99`, unit: "ms", values: ninetyNine[i]!.values, dashed: true },
  ]);
  return { timestampsMs: points.map(pointMs), series };
}

/** Requests per second per route of `service`. */
export const routeRates = (points: readonly TrafficPoint[], service: string) => rateChart(points, routesOf(service));
/** p50 and p99 latency per route of `service`. */
export const routeLatencies = (points: readonly TrafficPoint[], service: string) => latencyChart(points, routesOf(service));
/** Attempts per second per instance of `service`. */
export const instanceRates = (points: readonly TrafficPoint[], service: string) => rateChart(points, instancesOf(service));
/** p50 and p99 latency of single attempts per instance of `service`. */
export const instanceLatencies = (points: readonly TrafficPoint[], service: string) => latencyChart(points, instancesOf(service));

/** Retries and retry-budget exhaustion per second, and the budget in use (percent), of `service`. */
export function retryChart(points: readonly TrafficPoint[], service: string): ChartData {
  const of = (p: TrafficPoint) => p.services.find((s) => s.service === service);
  return {
    timestampsMs: points.map(pointMs),
    series: [
      { label: "retries", unit: "req/s", values: points.map((p) => of(p)?.retriesPerSecond ?? null) },
      { label: "not retried: budget spent", unit: "req/s", values: points.map((p) => of(p)?.budgetExhaustedPerSecond ?? null), dashed: true },
      { label: "budget in use", unit: "%", values: points.map((p) => { const s = of(p); return s ? s.budgetUse * 100 : null; }) },
    ],
  };
}

/** The highest value any series has at `index`, for a click on a latency chart. */
export function highestAt(series: readonly ChartSeries[], index: number): number {
  let max = 0;
  for (const s of series) {
    const v = s.values[index];
    if (v !== null && v !== undefined && v > max) max = v;
  }
  return max;
}
