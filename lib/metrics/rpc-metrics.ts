import { Code, ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import { TraceFlags, isSpanContextValid, trace } from "@opentelemetry/api";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from "prom-client";
import { httpStatusOf } from "../errors/http-status.ts";
import { createTrafficWindow, type TrafficSnapshot } from "./traffic-window.ts";

export interface RpcMetrics {
  /** Records every RPC the server handles. Place it inside the tracing interceptor. */
  readonly interceptor: Interceptor;
  /** Figures over the last minute, plus calls in flight, for the status RPC. */
  traffic(): TrafficSnapshot & { inFlight: number };
}


const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function codeName(code: Code | undefined): string {
  if (code === undefined) return "ok";
  return Code[code]!.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
}

/**
 * Per-RPC golden metrics (requests, errors by code, latency) on `registry`, under both the RPC names
 * (`rpc_server_*`) and the seeds' HTTP names (`http_requests_total`, `http_request_duration_seconds`), plus
 * the process defaults. Streams are measured until they end.
 */
export function createRpcMetrics(registry: Registry, options: { now?: () => number } = {}): RpcMetrics {
  const now = options.now ?? performance.now.bind(performance);
  collectDefaultMetrics({ register: registry });
  const labelNames = ["rpc_service", "rpc_method", "code"] as const;
  const requests = new Counter({ name: "rpc_server_requests_total", help: "RPCs handled, by outcome code.", labelNames, registers: [registry] });
  // Exemplars carry the trace id, so a latency spike in Grafana opens its trace in Jaeger. They are
  // exposed only when the registry speaks OpenMetrics (see startMeshService).
  const exemplars = (registry.contentType as string) === Registry.OPENMETRICS_CONTENT_TYPE;
  const duration = new Histogram({
    name: "rpc_server_duration_seconds",
    help: "RPC handling time, by outcome code.",
    labelNames,
    buckets: latencyBuckets,
    registers: [registry],
    enableExemplars: exemplars,
  });
  /** Per method: its label sets (made once, as each call would otherwise build and hash new ones) and calls in flight. */
  interface MethodSeries {
    readonly labels: { rpc_service: string; rpc_method: string };
    readonly route: string;
    inFlight: number;
    /** By outcome code name: the RPC labels and the HTTP labels of a call that ended so. */
    readonly outcomes: Map<number | string, { rpc: LabelValues<(typeof labelNames)[number]>; http: LabelValues<(typeof httpLabels)[number]> }>;
  }
  const series = new Map<object, MethodSeries>();
  const seriesOf = (service: string, method: { name: string }): MethodSeries => {
    let found = series.get(method);
    if (found === undefined) {
      found = { labels: { rpc_service: service, rpc_method: method.name }, route: `/${service}/${method.name}`, inFlight: 0, outcomes: new Map() };
      series.set(method, found);
    }
    return found;
  };
  // Read at each scrape rather than moved on every call.
  new Gauge({
    name: "rpc_server_in_flight",
    help: "RPCs being handled now.",
    labelNames: ["rpc_service", "rpc_method"],
    registers: [registry],
    collect() {
      for (const entry of series.values()) this.set(entry.labels, entry.inFlight);
    },
  });
  const httpLabels = ["method", "route", "status"] as const;
  const httpRequests = new Counter({ name: "http_requests_total", help: "Requests handled, by route and HTTP status.", labelNames: httpLabels, registers: [registry] });
  const httpDuration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Request handling time, by route and HTTP status.",
    labelNames: httpLabels,
    buckets: latencyBuckets,
    registers: [registry],
    enableExemplars: exemplars,
  });
  const window = createTrafficWindow();
  let inFlight = 0;

  const interceptor: Interceptor = (next) => async (req) => {
    const entry = seriesOf(req.service.typeName, req.method);
    const started = now();
    inFlight++;
    entry.inFlight++;
    let done = false;
    const observe = (err: unknown) => {
      if (done) return;
      done = true;
      inFlight--;
      entry.inFlight--;
      const code = err === undefined ? undefined : ConnectError.from(err).code;
      const seconds = (now() - started) / 1000;
      // RPCs are POSTs but for Connect's GET.
      const outcomeKey = req.requestMethod === "POST" ? (code ?? 0) : `${code ?? 0} ${req.requestMethod}`;
      let outcome = entry.outcomes.get(outcomeKey);
      if (outcome === undefined) {
        outcome = {
          rpc: { ...entry.labels, code: codeName(code) },
          http: { method: req.requestMethod, route: entry.route, status: String(httpStatusOf(code)) },
        };
        entry.outcomes.set(outcomeKey, outcome);
      }
      const labels = outcome.rpc;
      const http = outcome.http;
      requests.inc(labels);
      httpRequests.inc(http);
      if (exemplars) {
        // With exemplars on, prom-client takes only the object form; calls outside a sampled trace have none.
        const spanContext = trace.getActiveSpan()?.spanContext();
        // The flag first: with a sampling ratio below 1 most calls are unsampled, and isSpanContextValid checks both ids against patterns.
        const sampled = spanContext !== undefined && (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0 && isSpanContextValid(spanContext);
        // prom-client types exemplar labels like metric labels; they are free-form in OpenMetrics.
        const exemplarLabels = sampled ? ({ trace_id: spanContext.traceId, span_id: spanContext.spanId } as LabelValues<never>) : undefined;
        duration.observe({ labels, value: seconds, exemplarLabels });
        httpDuration.observe({ labels: http, value: seconds, exemplarLabels });
      } else {
        duration.observe(labels, seconds);
        httpDuration.observe(http, seconds);
      }
      window.record(seconds * 1000, code !== undefined);
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        observe(undefined);
        return res;
      }
      const source = res.message;
      async function* measured() {
        let failure: unknown;
        try {
          yield* source;
        } catch (err) {
          failure = err;
          throw err;
        } finally {
          observe(failure);
        }
      }
      return { ...res, message: measured() } as StreamResponse<any, any>;
    } catch (err) {
      observe(err);
      throw err;
    }
  };

  return {
    interceptor,
    traffic: () => ({ ...window.snapshot(), inFlight }),
  };
}
