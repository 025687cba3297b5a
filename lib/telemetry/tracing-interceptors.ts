import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import {
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from "@opentelemetry/api";
import { setRequestId } from "./request-context.ts";
import { inUnsampledTrace } from "./unsampled-trace.ts";

const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

const headerSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

const tracerName = "connect-mesh";

function rpcAttributes(service: string, method: string, contentType: string | null) {
  return {
    "rpc.system": contentType?.startsWith("application/grpc") ? "grpc" : "connect_rpc",
    "rpc.service": service,
    "rpc.method": method,
  };
}

function endSpan(span: Span, err: unknown): void {
  // A span that records nothing (not sampled, or no SDK) needs no outcome and no end.
  if (!span.isRecording()) return;
  if (err === undefined) {
    span.setAttribute("rpc.connect_rpc.error_code", "ok");
    span.setStatus({ code: SpanStatusCode.UNSET });
  } else {
    const connectErr = ConnectError.from(err);
    span.setAttribute("rpc.connect_rpc.error_code", Code[connectErr.code] ?? "unknown");
    span.setAttribute("rpc.grpc.status_code", connectErr.code);
    span.recordException(connectErr);
    span.setStatus({ code: SpanStatusCode.ERROR, message: connectErr.rawMessage });
  }
  span.end();
}

/** Wraps a streamed response so the span ends when the stream does. */
async function* traceStream<T>(span: Span, stream: AsyncIterable<T>): AsyncIterable<T> {
  let failure: unknown;
  try {
    yield* stream;
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    endSpan(span, failure);
  }
}

function finish(
  span: Span,
  res: UnaryResponse<any, any> | StreamResponse<any, any>,
): UnaryResponse<any, any> | StreamResponse<any, any> {
  if (!res.stream) {
    endSpan(span, undefined);
    return res;
  }
  return { ...res, message: traceStream(span, res.message) } as StreamResponse<any, any>;
}

/**
 * Server spans for every RPC, continuing the caller's W3C trace context (`traceparent`), because Node's
 * SDK does not instrument HTTP/2. Also takes the request id from `x-request-id` (or makes one), echoes it in
 * the response header, and makes it active for logs.
 *
 * The span's attributes are set only when it records: the sampler does not read them (start-sdk.ts), and for the
 * requests a ratio leaves out they would be built and validated for nothing.
 */
export function createServerTracingInterceptor(): Interceptor {
  const tracer = trace.getTracer(tracerName);
  return (next) => async (req) => {
    const parent = propagation.extract(context.active(), req.header, headerGetter);
    const requestId = req.header.get("x-request-id") || randomUUID();
    const span = tracer.startSpan(`${req.service.typeName}/${req.method.name}`, { kind: SpanKind.SERVER }, parent);
    if (span.isRecording()) {
      const attributes: Attributes = rpcAttributes(req.service.typeName, req.method.name, req.header.get("content-type"));
      attributes["mesh.request_id"] = requestId;
      span.setAttributes(attributes);
    }
    // The span and the request id are both active in the handler, entered in one step.
    return context.with(setRequestId(trace.setSpan(parent, span), requestId), async () => {
      try {
        const res = await next(req);
        res.header.set("x-request-id", requestId);
        return finish(span, res);
      } catch (err) {
        endSpan(span, err);
        if (err instanceof ConnectError) err.metadata.set("x-request-id", requestId);
        throw err;
      }
    });
  };
}

/**
 * Client spans for outgoing RPCs, injecting W3C trace context. In a trace that is not sampled the call gets no
 * span (it would record nothing) and no context of its own: the active context is injected as it is, so the
 * callee sees the trace and its not-sampled flag.
 */
export function createClientTracingInterceptor(): Interceptor {
  const tracer = trace.getTracer(tracerName);
  return (next) => async (req) => {
    const active = context.active();
    if (inUnsampledTrace(active)) {
      propagation.inject(active, req.header, headerSetter);
      return next(req);
    }
    const span = tracer.startSpan(`${req.service.typeName}/${req.method.name}`, { kind: SpanKind.CLIENT }, active);
    if (span.isRecording()) span.setAttributes(rpcAttributes(req.service.typeName, req.method.name, req.header.get("content-type")));
    const ctx = trace.setSpan(active, span);
    propagation.inject(ctx, req.header, headerSetter);
    return context.with(ctx, async () => {
      try {
        return finish(span, await next(req));
      } catch (err) {
        endSpan(span, err);
        throw err;
      }
    });
  };
}
