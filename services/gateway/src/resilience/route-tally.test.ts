import { Code } from "@connectrpc/connect";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { createUpstreamPool } from "../upstreams/upstream-pool.ts";
import { trafficReport } from "./breaker-reporter.ts";
import { createGatewayMetrics } from "./gateway-metrics.ts";
import { createRouteTally } from "./route-tally.ts";

function pool(service: string, rpcService: string) {
  const p = createUpstreamPool({ service, maxInFlight: 10, hooks: { onBreakerChange() {}, onRetired() {} } });
  p.upsert({ id: `${service}-1`, service, address: "http://127.0.0.1:1", rpcServices: new Set([rpcService]), serving: true, isolatedUntilMs: undefined });
  return p;
}

describe("route tally", () => {
  it("counts calls per route as callers see them, through the gateway's metrics, and budget exhaustion per service", () => {
    let clock = 100_000;
    const tally = createRouteTally({ now: () => clock });
    const metrics = createGatewayMetrics({ traffic: tally });
    const method = "mesh.data.v1.DataService/GetItem";
    for (let i = 0; i < 9; i++) metrics.request("GET /v1/items/{id}", method, undefined, 0.004);
    metrics.request("GET /v1/items/{id}", method, Code.Unavailable, 0.25);
    metrics.request("GET /v1/items/{id}", method, Code.NotFound, 0.002);
    metrics.retry("GET /v1/items/{id}", method, "unavailable");
    metrics.budgetExhausted("backend", method);
    metrics.budgetExhausted("backend", method);
    clock += 1000;
    const [route] = tally.routes();
    expect(route?.route).toBe("GET /v1/items/{id}");
    expect(route?.rpcService).toBe("mesh.data.v1.DataService");
    // A NOT_FOUND is the caller's mistake, not a failure of the mesh.
    expect([route?.figures.requestsTotal, route?.figures.errorsTotal, route?.figures.retriesTotal]).toEqual([11, 1, 1]);
    expect(route?.figures.p99Ms).toBe(250);
    expect(tally.exhausted().get("backend")).toBe(2);
  });

  it("keeps at most maxRoutes routes", () => {
    const tally = createRouteTally({ maxRoutes: 2 });
    for (const r of ["a", "b", "c"]) tally.request(r, "s/M", undefined, 0.001);
    expect(tally.routes().map((r) => r.route)).toEqual(["a", "b"]);
  });

  it("reports each route with the mesh service whose pool serves it, and every pool's retry budget", () => {
    const tally = createRouteTally();
    tally.request("GET /v1/items/{id}", "mesh.data.v1.DataService/GetItem", undefined, 0.01);
    tally.request("/mesh.control.v1.TrafficService/WatchTraffic", "mesh.control.v1.TrafficService/WatchTraffic", undefined, 30);
    tally.request("/unknown.v1.Nobody/Call", "unknown.v1.Nobody/Call", undefined, 0.01);
    tally.budgetExhausted("backend");
    const { routes, retryBudgets } = trafficReport(tally, [pool("backend", "mesh.data.v1.DataService"), pool("control", "mesh.control.v1.TrafficService")]);
    expect(routes.map((r) => [r.route, r.service, r.metrics?.requestsTotal])).toEqual([
      ["GET /v1/items/{id}", "backend", 1n],
      ["/mesh.control.v1.TrafficService/WatchTraffic", "control", 1n],
    ]);
    expect(durationMs(routes[0]!.metrics!.latencyP50!)).toBe(10);
    expect(retryBudgets.map((b) => [b.service, b.exhaustedTotal, b.budgetRatio, b.budgetMinPerSecond])).toEqual([
      ["backend", 1n, 0.2, 10],
      ["control", 0n, 0.2, 10],
    ]);
  });
});
