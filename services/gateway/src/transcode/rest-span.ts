import type { IncomingHttpHeaders } from "node:http";
import { SpanKind, SpanStatusCode, context, propagation, trace, type TextMapGetter } from "@opentelemetry/api";
import { setRequestId } from "../../../../lib/telemetry/request-context.ts";

const getter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** What a request tells its span as it learns it. */
export interface RestSpan {
  route(label: string): void;
  status(httpStatus: number): void;
}

// A proxy that reaches the SDK's tracer once one is registered; getTracer per request would make a new proxy each time.
const tracer = trace.getTracer("connect-mesh");

/**
 * Runs a REST request inside a server span that continues the caller's `traceparent`, so the upstream call
 * (whose client interceptor injects the active context) stays in the caller's trace, with `requestId` as the
 * active request id (for log lines). When a span is already active (the HTTP/1.1 instrumentation made one),
 * that one is used. Without an OpenTelemetry SDK this is a no-op and the caller's `traceparent` is forwarded
 * as it came. Span and request id enter the context together: one AsyncLocalStorage frame per request.
 */
export function inRestSpan<T>(headers: IncomingHttpHeaders, method: string, requestId: string, fn: (span: RestSpan) => Promise<T>): Promise<T> {
  const active = trace.getActiveSpan();
  const parent = active ? context.active() : propagation.extract(context.active(), headers, getter);
  const span = active ?? tracer.startSpan(`${method} REST`, { kind: SpanKind.SERVER }, parent);
  // Lets Jaeger find the trace of a request by the id the caller sees in its response.
  span.setAttribute("mesh.request_id", requestId);
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
  const running = context.with(setRequestId(trace.setSpan(parent, span), requestId), fn, undefined, handle);
  // A span made here ends with the request; one that records nothing (no SDK, or not sampled) needs no end.
  if (active || !span.isRecording()) return running;
  return running.finally(() => span.end());
}
