import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { InstanceBreakerSchema } from "../../../../gen/mesh/control/v1/breaker_pb.ts";
import { GoldenMetricsSchema } from "../../../../gen/mesh/control/v1/metrics_pb.ts";
import { RetryBudgetTrafficSchema, RouteTrafficSchema } from "../../../../gen/mesh/control/v1/traffic_pb.ts";
import { createTrafficHistory, mergeGoldenMetrics, pointForService, pointTimeMs, type TrafficReport } from "./traffic-history.ts";

const golden = (rps: number, success: number, p50: number, p99: number, totals: { requests?: number; retries?: number } = {}) =>
  create(GoldenMetricsSchema, {
    requestsPerSecond: rps,
    successRate: success,
    latencyP50: durationFromMs(p50),
    latencyP95: durationFromMs(p99),
    latencyP99: durationFromMs(p99),
    requestsTotal: BigInt(totals.requests ?? 0),
    retriesTotal: BigInt(totals.retries ?? 0),
  });

function report(gatewayId: string, o: { requests: number; retries: number; exhausted: number; rps1?: number; rps2?: number }): TrafficReport {
  return {
    gatewayId,
    breakers: [
      create(InstanceBreakerSchema, { instanceId: "backend-1", service: "backend", metrics: golden(o.rps1 ?? 30, 1, 2, 9) }),
      create(InstanceBreakerSchema, { instanceId: "backend-2", service: "backend", metrics: golden(o.rps2 ?? 10, 0.5, 3, 20) }),
    ],
    routes: [
      create(RouteTrafficSchema, { route: "GET /v1/items/{id}", service: "backend", metrics: golden(40, 0.9, 4, 25, { requests: o.requests, retries: o.retries }) }),
      create(RouteTrafficSchema, { route: "/mesh.control.v1.TrafficService/WatchTraffic", service: "control", metrics: golden(0, 1, 0, 0) }),
    ],
    retryBudgets: [create(RetryBudgetTrafficSchema, { service: "backend", exhaustedTotal: BigInt(o.exhausted), budgetRatio: 0.2, budgetMinPerSecond: 10 })],
  };
}

describe("mergeGoldenMetrics", () => {
  it("adds rates and totals, weights success by rate and takes the highest percentile", () => {
    const m = mergeGoldenMetrics([golden(30, 1, 2, 9, { requests: 100 }), golden(10, 0.6, 5, 4, { requests: 50 }), undefined]);
    expect(m.requestsPerSecond).toBe(40);
    expect(m.successRate).toBeCloseTo(0.9);
    expect(durationMs(m.latencyP50!)).toBe(5);
    expect(durationMs(m.latencyP99!)).toBe(9);
    expect(m.requestsTotal).toBe(150n);
  });

  it("keeps the lowest success rate when there is no traffic to weight by", () => {
    expect(mergeGoldenMetrics([golden(0, 1, 0, 0), golden(0, 0.5, 0, 0)]).successRate).toBe(0.5);
  });
});

describe("TrafficHistory", () => {
  it("makes one point per report: per route, per instance with its share of the service, and retry rates from the counters' growth", () => {
    const history = createTrafficHistory();
    const first = history.record(report("gateway-1", { requests: 1000, retries: 10, exhausted: 0 }), 10_000);
    // No earlier report: no interval to rate retries over; requests fall back to the windowed rate.
    expect(first.services.map((s) => [s.service, s.requestsPerSecond, s.retriesPerSecond])).toEqual([
      ["backend", 40, 0],
      ["control", 0, 0],
    ]);
    const point = history.record(report("gateway-1", { requests: 1080, retries: 18, exhausted: 3 }), 12_000);
    expect(pointTimeMs(point)).toBe(12_000);
    expect(point.gateways).toBe(1);
    expect(point.routes.map((r) => [r.service, r.route, r.retriesPerSecond])).toEqual([
      ["backend", "GET /v1/items/{id}", 4],
      ["control", "/mesh.control.v1.TrafficService/WatchTraffic", 0],
    ]);
    expect(point.instances.map((i) => [i.instanceId, i.share])).toEqual([
      ["backend-1", 0.75],
      ["backend-2", 0.25],
    ]);
    const backend = point.services.find((s) => s.service === "backend")!;
    expect([backend.requestsPerSecond, backend.retriesPerSecond, backend.budgetExhaustedPerSecond, backend.budgetRatio]).toEqual([40, 4, 1.5, 0.2]);
    // 4 retries per 40 requests = 0.1, half the budget's 0.2.
    expect(backend.budgetUse).toBeCloseTo(0.5);
  });

  it("treats a counter that went down as a gateway restart: the new count is the growth", () => {
    const history = createTrafficHistory();
    history.record(report("gateway-1", { requests: 1000, retries: 500, exhausted: 0 }), 10_000);
    const point = history.record(report("gateway-1", { requests: 20, retries: 2, exhausted: 0 }), 12_000);
    expect(point.services.find((s) => s.service === "backend")?.retriesPerSecond).toBe(1);
  });

  it("merges every fresh gateway into a point and leaves out the stale ones", () => {
    const history = createTrafficHistory({ staleAfterMs: 30_000 });
    history.record(report("gateway-1", { requests: 0, retries: 0, exhausted: 0, rps1: 30, rps2: 10 }), 0);
    const both = history.record(report("gateway-2", { requests: 0, retries: 0, exhausted: 0, rps1: 10, rps2: 30 }), 1_000);
    expect(both.gateways).toBe(2);
    expect(both.instances.map((i) => [i.instanceId, i.metrics?.requestsPerSecond, i.share])).toEqual([
      ["backend-1", 40, 0.5],
      ["backend-2", 40, 0.5],
    ]);
    const later = history.record(report("gateway-2", { requests: 0, retries: 0, exhausted: 0, rps1: 10, rps2: 30 }), 31_000);
    expect(later.gateways).toBe(1);
    expect(later.instances.map((i) => i.share)).toEqual([0.25, 0.75]);
  });

  it("keeps points for the retention window and at most maxPoints, oldest first", () => {
    const history = createTrafficHistory({ retentionMs: 10_000, maxPoints: 4 });
    for (let t = 0; t <= 12_000; t += 2_000) history.record(report("gateway-1", { requests: t, retries: 0, exhausted: 0 }), t);
    expect(history.points(12_000).map(pointTimeMs)).toEqual([6_000, 8_000, 10_000, 12_000]);
    expect(history.points(19_000).map(pointTimeMs)).toEqual([10_000, 12_000]);
  });

  it("tells subscribers each new point, and filters a point by service", () => {
    const history = createTrafficHistory();
    const seen: number[] = [];
    const unsubscribe = history.subscribe((p) => seen.push(pointTimeMs(p)));
    history.record(report("gateway-1", { requests: 0, retries: 0, exhausted: 0 }), 1_000);
    unsubscribe();
    const point = history.record(report("gateway-1", { requests: 0, retries: 0, exhausted: 0 }), 2_000);
    expect(seen).toEqual([1_000]);
    const control = pointForService(point, "control");
    expect([control.routes.length, control.instances.length, control.services.map((s) => s.service)]).toEqual([1, 0, ["control"]]);
  });
});
