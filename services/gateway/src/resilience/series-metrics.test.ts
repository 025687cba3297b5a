import { Counter, Histogram, Registry, type RegistryContentType } from "prom-client";
import { describe, expect, it } from "vitest";
import { createSeriesCounter, createSeriesHistogram } from "./series-metrics.ts";

const buckets = [0.001, 0.01, 0.1, 1];
const labelNames = ["route", "code"];
const observations: Array<[Record<string, string>, number]> = [
  [{ route: "GET /v1/items/{id}", code: "ok" }, 0.0004],
  [{ route: "GET /v1/items/{id}", code: "ok" }, 0.001],
  [{ route: "GET /v1/items/{id}", code: "ok" }, 0.05],
  [{ route: "POST /v1/items", code: "unavailable" }, 3],
  [{ route: "GET /v1/items/{id}", code: "ok" }, 0.2],
  [{ route: 'odd "route"\\', code: "ok" }, 0.01],
];

function registry(type: RegistryContentType): Registry<RegistryContentType> {
  const r = new Registry<RegistryContentType>();
  r.setContentType(type);
  r.setDefaultLabels({ service: "gateway", instance: "g1" });
  return r;
}

describe.each([Registry.PROMETHEUS_CONTENT_TYPE, Registry.OPENMETRICS_CONTENT_TYPE] as RegistryContentType[])("in %s", (type) => {
  it("a series histogram reads exactly as prom-client's Histogram fed the same values", async () => {
    const theirs = registry(type);
    const reference = new Histogram({ name: "latency_seconds", help: "Latency.", labelNames, buckets, registers: [theirs] });
    const ours = registry(type);
    const histogram = createSeriesHistogram({ name: "latency_seconds", help: "Latency.", labelNames, buckets });
    ours.registerMetric(histogram.metric);
    const handles = new Map<string, ReturnType<typeof histogram.series>>();
    for (const [labels, value] of observations) {
      reference.observe(labels, value);
      const key = JSON.stringify(labels);
      if (!handles.has(key)) handles.set(key, histogram.series(labels));
      handles.get(key)!.observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  });

  it("a series counter reads exactly as prom-client's Counter fed the same increments", async () => {
    const theirs = registry(type);
    const reference = new Counter({ name: "calls_total", help: "Calls.", labelNames, registers: [theirs] });
    const ours = registry(type);
    const counter = createSeriesCounter({ name: "calls_total", help: "Calls.", labelNames });
    ours.registerMetric(counter.metric);
    const handles = new Map<string, ReturnType<typeof counter.series>>();
    for (const [labels] of observations) {
      reference.inc(labels);
      const key = JSON.stringify(labels);
      if (!handles.has(key)) handles.set(key, counter.series(labels));
      handles.get(key)!.inc();
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // Counts keep adding up across reads.
    reference.inc(observations[0]![0]);
    handles.get(JSON.stringify(observations[0]![0]))!.inc();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // A reset drops counts not yet read, as prom-client's drops everything counted before it.
    handles.get(JSON.stringify(observations[0]![0]))!.inc();
    theirs.resetMetrics();
    ours.resetMetrics();
    reference.inc(observations[1]![0]);
    handles.get(JSON.stringify(observations[1]![0]))!.inc();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});

describe("createSeriesHistogram", () => {
  it("drops values that are not finite numbers, and zeroes its series on reset with their handles still valid", async () => {
    const r = registry(Registry.PROMETHEUS_CONTENT_TYPE);
    const histogram = createSeriesHistogram({ name: "latency_seconds", help: "Latency.", labelNames: ["code"], buckets });
    r.registerMetric(histogram.metric);
    const ok = histogram.series({ code: "ok" });
    ok.observe(Number.NaN);
    ok.observe(Number.POSITIVE_INFINITY);
    ok.observe(0.5);
    expect(await r.metrics()).toContain('latency_seconds_count{service="gateway",instance="g1",code="ok"} 1');
    r.resetMetrics();
    expect(await r.metrics()).toContain('latency_seconds_count{service="gateway",instance="g1",code="ok"} 0');
    ok.observe(0.5);
    expect(await r.metrics()).toContain('latency_seconds_sum{service="gateway",instance="g1",code="ok"} 0.5');
  });
});
