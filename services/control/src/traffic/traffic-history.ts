import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { InstanceBreaker } from "../../../../gen/mesh/control/v1/breaker_pb.ts";
import { GoldenMetricsSchema, type GoldenMetrics } from "../../../../gen/mesh/control/v1/metrics_pb.ts";
import {
  InstanceSampleSchema,
  RouteSampleSchema,
  ServiceSampleSchema,
  TrafficPointSchema,
  type RetryBudgetTraffic,
  type RouteTraffic,
  type TrafficPoint,
} from "../../../../gen/mesh/control/v1/traffic_pb.ts";

/** What a gateway sends with each breaker report. */
export interface TrafficReport {
  gatewayId: string;
  breakers: readonly InstanceBreaker[];
  routes: readonly RouteTraffic[];
  retryBudgets: readonly RetryBudgetTraffic[];
}

export interface TrafficHistory {
  /** Takes a gateway's report and makes the mesh-wide point for `now`, which listeners receive. */
  record(report: TrafficReport, now: number): TrafficPoint;
  /** The points of the retention window, oldest first. */
  points(now: number): TrafficPoint[];
  /** Calls `listener` with each new point. Returns the unsubscribe function. */
  subscribe(listener: (point: TrafficPoint) => void): () => void;
}

export interface TrafficHistoryOptions {
  /** How far back points are kept. @default 900000 (15 min) */
  retentionMs?: number;
  /** Points kept at most, whatever their age (many gateways reporting often). @default 3000 */
  maxPoints?: number;
  /** A gateway whose last report is older is left out of new points. @default 30000 */
  staleAfterMs?: number;
}

/** One gateway's figures, with the rates derived from the difference to its previous report. */
interface GatewayFigures {
  at: number;
  report: TrafficReport;
  routeRetriesPerSecond: Map<string, number>;
  services: Map<string, { requestsPerSecond: number; retriesPerSecond: number; exhaustedPerSecond: number; budgetRatio: number }>;
}

const key = (service: string, name: string) => `${service}\u0000${name}`;

/** Growth of a counter between reports; a gateway that restarted counts from zero again. */
function growth(current: bigint | number, previous: bigint | number | undefined): number {
  const c = Number(current);
  if (previous === undefined) return 0;
  const d = c - Number(previous);
  return d >= 0 ? d : c;
}

function deriveFigures(report: TrafficReport, at: number, previous: GatewayFigures | undefined): GatewayFigures {
  const seconds = previous && at > previous.at ? (at - previous.at) / 1000 : 0;
  const before = new Map(previous?.report.routes.map((r) => [key(r.service, r.route), r.metrics]) ?? []);
  const budgetsBefore = new Map(previous?.report.retryBudgets.map((b) => [b.service, b.exhaustedTotal]) ?? []);
  const routeRetriesPerSecond = new Map<string, number>();
  const services: GatewayFigures["services"] = new Map();
  const serviceOf = (name: string) => {
    let s = services.get(name);
    if (!s) services.set(name, (s = { requestsPerSecond: 0, retriesPerSecond: 0, exhaustedPerSecond: 0, budgetRatio: 0 }));
    return s;
  };
  for (const route of report.routes) {
    const k = key(route.service, route.route);
    const old = before.get(k);
    const m = route.metrics;
    // Without an earlier report there is no interval: the gateway's own windowed rate stands in for requests.
    const retries = seconds > 0 && old ? growth(m?.retriesTotal ?? 0n, old.retriesTotal) / seconds : 0;
    const requests = seconds > 0 && old ? growth(m?.requestsTotal ?? 0n, old.requestsTotal) / seconds : (m?.requestsPerSecond ?? 0);
    routeRetriesPerSecond.set(k, retries);
    const s = serviceOf(route.service);
    s.retriesPerSecond += retries;
    s.requestsPerSecond += requests;
  }
  for (const budget of report.retryBudgets) {
    const s = serviceOf(budget.service);
    s.budgetRatio = budget.budgetRatio;
    s.exhaustedPerSecond = seconds > 0 ? growth(budget.exhaustedTotal, budgetsBefore.get(budget.service)) / seconds : 0;
  }
  return { at, report, routeRetriesPerSecond, services };
}

/** Golden metrics of several gateways as one: rates and totals add up, success is rate-weighted, percentiles the highest. */
export function mergeGoldenMetrics(all: ReadonlyArray<GoldenMetrics | undefined>): GoldenMetrics {
  let rps = 0;
  let weightedSuccess = 0;
  let p50 = 0;
  let p95 = 0;
  let p99 = 0;
  let requests = 0n;
  let errors = 0n;
  let retries = 0n;
  let minSuccess = 1;
  for (const m of all) {
    if (!m) continue;
    rps += m.requestsPerSecond;
    weightedSuccess += m.successRate * m.requestsPerSecond;
    minSuccess = Math.min(minSuccess, m.successRate);
    p50 = Math.max(p50, m.latencyP50 ? durationMs(m.latencyP50) : 0);
    p95 = Math.max(p95, m.latencyP95 ? durationMs(m.latencyP95) : 0);
    p99 = Math.max(p99, m.latencyP99 ? durationMs(m.latencyP99) : 0);
    requests += m.requestsTotal;
    errors += m.errorsTotal;
    retries += m.retriesTotal;
  }
  return create(GoldenMetricsSchema, {
    requestsPerSecond: rps,
    successRate: rps > 0 ? weightedSuccess / rps : minSuccess,
    latencyP50: durationFromMs(p50),
    latencyP95: durationFromMs(p95),
    latencyP99: durationFromMs(p99),
    requestsTotal: requests,
    errorsTotal: errors,
    retriesTotal: retries,
  });
}

/** The mesh-wide point over the gateways' latest figures. */
export function mergePoint(gateways: readonly GatewayFigures[], now: number): TrafficPoint {
  const routes = new Map<string, { route: RouteTraffic; metrics: Array<GoldenMetrics | undefined>; retries: number }>();
  const instances = new Map<string, { breaker: InstanceBreaker; metrics: Array<GoldenMetrics | undefined> }>();
  const services = new Map<string, { requests: number; retries: number; exhausted: number; ratio: number }>();
  for (const g of gateways) {
    for (const route of g.report.routes) {
      const k = key(route.service, route.route);
      const entry = routes.get(k) ?? { route, metrics: [], retries: 0 };
      entry.metrics.push(route.metrics);
      entry.retries += g.routeRetriesPerSecond.get(k) ?? 0;
      routes.set(k, entry);
    }
    for (const breaker of g.report.breakers) {
      const k = key(breaker.service, breaker.instanceId);
      const entry = instances.get(k) ?? { breaker, metrics: [] };
      entry.metrics.push(breaker.metrics);
      instances.set(k, entry);
    }
    for (const [name, s] of g.services) {
      const entry = services.get(name) ?? { requests: 0, retries: 0, exhausted: 0, ratio: 0 };
      entry.requests += s.requestsPerSecond;
      entry.retries += s.retriesPerSecond;
      entry.exhausted += s.exhaustedPerSecond;
      entry.ratio = Math.max(entry.ratio, s.budgetRatio);
      services.set(name, entry);
    }
  }
  const sorted = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  const instanceSamples = sorted(instances).map(({ breaker, metrics }) =>
    create(InstanceSampleSchema, { instanceId: breaker.instanceId, service: breaker.service, metrics: mergeGoldenMetrics(metrics) }),
  );
  const perService = new Map<string, number>();
  for (const s of instanceSamples) perService.set(s.service, (perService.get(s.service) ?? 0) + (s.metrics?.requestsPerSecond ?? 0));
  for (const s of instanceSamples) {
    const total = perService.get(s.service) ?? 0;
    s.share = total > 0 ? (s.metrics?.requestsPerSecond ?? 0) / total : 0;
  }
  return create(TrafficPointSchema, {
    time: timestampFromMs(now),
    gateways: gateways.length,
    routes: sorted(routes).map(({ route, metrics, retries }) =>
      create(RouteSampleSchema, { route: route.route, service: route.service, metrics: mergeGoldenMetrics(metrics), retriesPerSecond: retries }),
    ),
    instances: instanceSamples,
    services: [...services.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([service, s]) =>
        create(ServiceSampleSchema, {
          service,
          requestsPerSecond: s.requests,
          retriesPerSecond: s.retries,
          budgetExhaustedPerSecond: s.exhausted,
          budgetRatio: s.ratio,
          budgetUse: s.requests > 0 && s.ratio > 0 ? s.retries / s.requests / s.ratio : 0,
        }),
      ),
  });
}

/** The point with only `service`'s routes, instances and retry figures. */
export function pointForService(point: TrafficPoint, service: string): TrafficPoint {
  if (service === "") return point;
  return create(TrafficPointSchema, {
    time: point.time,
    gateways: point.gateways,
    routes: point.routes.filter((r) => r.service === service),
    instances: point.instances.filter((i) => i.service === service),
    services: point.services.filter((s) => s.service === service),
  });
}

/**
 * The mesh's recent traffic in memory: each gateway report makes one mesh-wide point from the latest report
 * of every fresh gateway; points older than the retention (or beyond `maxPoints`) are dropped.
 */
export function createTrafficHistory(options: TrafficHistoryOptions = {}): TrafficHistory {
  const retentionMs = options.retentionMs ?? 900_000;
  const maxPoints = options.maxPoints ?? 3000;
  const staleAfterMs = options.staleAfterMs ?? 30_000;
  const gateways = new Map<string, GatewayFigures>();
  const points: Array<{ at: number; point: TrafficPoint }> = [];
  const listeners = new Set<(point: TrafficPoint) => void>();
  const prune = (now: number) => {
    let drop = 0;
    while (drop < points.length && (points[drop]!.at < now - retentionMs || points.length - drop > maxPoints)) drop++;
    if (drop > 0) points.splice(0, drop);
  };
  return {
    record(report, now) {
      gateways.set(report.gatewayId, deriveFigures(report, now, gateways.get(report.gatewayId)));
      for (const [id, g] of gateways) if (now - g.at > staleAfterMs) gateways.delete(id);
      const point = mergePoint([...gateways.values()], now);
      points.push({ at: now, point });
      prune(now);
      for (const listener of listeners) listener(point);
      return point;
    },
    points(now) {
      prune(now);
      return points.map((p) => p.point);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** When a point was made, in epoch ms. */
export const pointTimeMs = (point: TrafficPoint): number => (point.time ? timestampMs(point.time) : 0);
