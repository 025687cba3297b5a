import type { IncomingHttpHeaders } from "node:http";
import { SpanKind, SpanStatusCode, context, propagation, trace, type TextMapGetter } from "@opentelemetry/api";

const getter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** What a request tells its span as it learns it. */
export interface RestSpan {
  route(label: string): void;
  status(httpStatus: number): void;
}

/**
 * Runs a REST request inside a server span that continues the caller's `traceparent`, so the upstream call
 * (whose client interceptor injects the active context) stays in the caller's trace. When a span is
 * already active (the HTTP/1.1 instrumentation made one), that one is used. Without an OpenTelemetry SDK
 * this is a no-op and the caller's `traceparent` is forwarded as it came.
 */
export async function inRestSpan<T>(headers: IncomingHttpHeaders, method: string, fn: (span: RestSpan) => Promise<T>): Promise<T> {
  const active = trace.getActiveSpan();
  const parent = active ? context.active() : propagation.extract(context.active(), headers, getter);
  const span = active ?? trace.getTracer("connect-mesh").startSpan(`${method} REST`, { kind: SpanKind.SERVER }, parent);
  const requestId = headers["x-request-id"];
  // Lets Jaeger find the trace of a request by the id the caller sees in its response.
  if (typeof requestId === "string" && requestId !== "") span.setAttribute("mesh.request_id", requestId);
  const handle: RestSpan = {
    route(label) {
      span.setAttribute("http.route", label);
      // Named by route template, also when the HTTP instrumentation made the span.
      span.updateName(label);
    },
    status(httpStatus) {
      span.setAttribute("http.response.status_code", httpStatus);
      if (httpStatus >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    },
  };
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(handle));
  } finally {
    if (!active) span.end();
  }
}
