import { describe, expect, it } from "vitest";
import { balancerSplit } from "./balancer-split.ts";
import { highestAt, instanceRates, retryChart, routeLatencies, routeRates } from "./traffic-series.ts";
import { testPoint } from "./traffic-test-points.ts";
import { addTrafficPoints, emptyTrafficWindow, pointMs, servicesIn } from "./traffic-window.ts";

describe("traffic window", () => {
  it("keeps points in time order, replaces the history a reconnect repeats, and drops points past the window", () => {
    let w = addTrafficPoints(emptyTrafficWindow, [testPoint(1000), testPoint(3000)], 60_000);
    w = addTrafficPoints(w, [testPoint(2000)], 60_000);
    // A reconnect sends the history again.
    w = addTrafficPoints(w, [testPoint(1000), testPoint(2000), testPoint(3000), testPoint(4000)], 60_000);
    expect(w.points.map(pointMs)).toEqual([1000, 2000, 3000, 4000]);
    w = addTrafficPoints(w, [testPoint(63_500)], 60_000);
    expect(w.points.map(pointMs)).toEqual([4000, 63_500]);
  });

  it("lists the services seen, backend first", () => {
    const w = addTrafficPoints(emptyTrafficWindow, [testPoint(1, { service: "control" }), testPoint(2, { service: "backend" })], 60_000);
    expect(servicesIn(w)).toEqual(["backend", "control"]);
  });
});

describe("chart series", () => {
  const points = [
    testPoint(1000, { instances: { "backend-1": 5, "backend-2": 5 }, routes: { "GET /v1/items/{id}": [10, 2, 9] } }),
    testPoint(3000, { instances: { "backend-1": 6 }, routes: { "GET /v1/items/{id}": [6, 3, 40], "POST /v1/items": [1, 5, 7] }, retries: 2, budgetUse: 0.5 }),
  ];

  it("draws one rate line per route and per instance, with gaps where a point lacks one", () => {
    expect(routeRates(points, "backend")).toEqual({
      timestampsMs: [1000, 3000],
      series: [
        { label: "GET /v1/items/{id}", unit: "req/s", values: [10, 6] },
        { label: "POST /v1/items", unit: "req/s", values: [null, 1] },
      ],
    });
    expect(instanceRates(points, "backend").series.map((s) => [s.label, s.values])).toEqual([
      ["backend-1", [5, 6]],
      ["backend-2", [5, null]],
    ]);
    expect(routeRates(points, "control").series).toEqual([]);
  });

  it("pairs p50 (solid) and p99 (dashed) per route", () => {
    expect(routeLatencies(points, "backend").series.map((s) => [s.label, s.values, s.dashed === true])).toEqual([
      ["GET /v1/items/{id} p50", [2, 3], false],
      ["GET /v1/items/{id} p99", [9, 40], true],
      ["POST /v1/items p50", [null, 5], false],
      ["POST /v1/items p99", [null, 7], true],
    ]);
    expect(highestAt(routeLatencies(points, "backend").series, 1)).toBe(40);
  });

  it("shows retries per second and the budget in use as a percentage", () => {
    expect(retryChart(points, "backend").series.map((s) => [s.label, s.unit, s.values])).toEqual([
      ["retries", "req/s", [0, 2]],
      ["not retried: budget spent", "req/s", [0, 0]],
      ["budget in use", "%", [0, 50]],
    ]);
  });
});

describe("balancerSplit", () => {
  it("averages each instance's share over the span and leaves out instances gone from the newest point", () => {
    const points = [
      testPoint(0, { instances: { "backend-1": 9, "backend-3": 3 } }),
      testPoint(10_000, { instances: { "backend-1": 2, "backend-2": 2 } }),
      testPoint(12_000, { instances: { "backend-1": 4, "backend-2": 4 } }),
    ];
    expect(balancerSplit(points, "backend", 5_000, pointMs)).toEqual([
      { instanceId: "backend-1", share: 0.5, rps: 3, successRate: 1 },
      { instanceId: "backend-2", share: 0.5, rps: 3, successRate: 1 },
    ]);
    expect(balancerSplit(points, "backend", 60_000, pointMs).map((r) => r.share)).toEqual([15 / 21, 6 / 21]);
  });

  it("is empty without points, and gives zero shares without traffic", () => {
    expect(balancerSplit([], "backend", 5_000, pointMs)).toEqual([]);
    expect(balancerSplit([testPoint(0, { instances: { "backend-1": 0 } })], "backend", 5_000, pointMs)).toEqual([{ instanceId: "backend-1", share: 0, rps: 0, successRate: 1 }]);
  });
});
