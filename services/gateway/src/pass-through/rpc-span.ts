import type { IncomingHttpHeaders } from "node:http";
import type { ConnectError } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { SpanKind, SpanStatusCode, context, propagation, trace, type TextMapGetter } from "@opentelemetry/api";

const getter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

export interface RpcSpan {
  error(error: ConnectError): void;
}

/**
 * Runs a proxied RPC inside a server span named by its procedure that continues the caller's
 * `traceparent`, so each attempt's client span (and the instance's server span below it) joins the caller's
 * trace. Without an OpenTelemetry SDK this is a no-op and the caller's `traceparent` passes as it came.
 */
export async function inRpcSpan<T>(headers: IncomingHttpHeaders, service: string, method: string, fn: (span: RpcSpan) => Promise<T>): Promise<T> {
  const active = trace.getActiveSpan();
  const parent = active ? context.active() : propagation.extract(context.active(), headers, getter);
  const span =
    active ??
    trace.getTracer("connect-mesh").startSpan(
      `${service}/${method}`,
      { kind: SpanKind.SERVER, attributes: { "rpc.service": service, "rpc.method": method, "mesh.request_id": String(headers["x-request-id"] ?? "") } },
      parent,
    );
  const handle: RpcSpan = {
    error(error) {
      span.setAttribute("rpc.grpc.status_code", error.code);
      if (error.code !== Code.Canceled) span.setStatus({ code: SpanStatusCode.ERROR, message: error.rawMessage });
    },
  };
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(handle));
  } finally {
    if (!active) span.end();
  }
}
