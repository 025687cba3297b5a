import type { StreamRequest, UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import { ROOT_CONTEXT, TraceFlags, context, propagation, trace, type Context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { AlwaysOnSampler, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StatusService } from "../../gen/mesh/health/v1/status_pb.ts";
import { createClientTracingInterceptor, createServerTracingInterceptor } from "./tracing-interceptors.ts";

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const callerSpanId = "00f067aa0ba902b7";
const inTrace = (flags: TraceFlags): Context => trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: callerSpanId, traceFlags: flags });

function request(header: Record<string, string> = {}): UnaryRequest<any, any> {
  return {
    stream: false,
    service: StatusService,
    method: StatusService.method.getStatus,
    requestMethod: "POST",
    url: "http://localhost/mesh.health.v1.StatusService/GetStatus",
    signal: new AbortController().signal,
    header: new Headers({ "content-type": "application/grpc", ...header }),
    contextValues: undefined as never,
    message: {} as never,
  };
}

/** Answers at once, remembering the request's headers and the span active in the handler. */
function handler() {
  const seen: { header?: Headers; span?: ReturnType<typeof trace.getActiveSpan> } = {};
  const next = async (req: UnaryRequest<any, any> | StreamRequest<any, any>): Promise<UnaryResponse<any, any>> => {
    seen.header = req.header;
    seen.span = trace.getActiveSpan();
    return { stream: false, service: req.service, method: StatusService.method.getStatus, header: new Headers(), trailer: new Headers(), message: {} as never };
  };
  return { seen, next };
}

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
});
afterAll(() => {
  trace.disable();
  propagation.disable();
  context.disable();
});
afterEach(() => exporter.reset());

describe("createClientTracingInterceptor", () => {
  it("in a trace that is not sampled: no span, and the callee gets the active context as it is", async () => {
    const { seen, next } = handler();
    await context.with(inTrace(TraceFlags.NONE), () => createClientTracingInterceptor()(next)(request()));
    expect(seen.header?.get("traceparent")).toBe(`00-${traceId}-${callerSpanId}-00`);
    expect(seen.span?.spanContext().spanId).toBe(callerSpanId);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("in a sampled trace: a client span with the RPC's attributes, which the callee gets as its parent", async () => {
    const { seen, next } = handler();
    await context.with(inTrace(TraceFlags.SAMPLED), () => createClientTracingInterceptor()(next)(request()));
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe("mesh.health.v1.StatusService/GetStatus");
    expect(span?.parentSpanContext?.spanId).toBe(callerSpanId);
    expect(span?.attributes).toEqual({
      "rpc.system": "grpc",
      "rpc.service": "mesh.health.v1.StatusService",
      "rpc.method": "GetStatus",
      "rpc.connect_rpc.error_code": "ok",
    });
    expect(seen.header?.get("traceparent")).toBe(`00-${traceId}-${span?.spanContext().spanId}-01`);
  });
});

describe("createServerTracingInterceptor", () => {
  it("continues a caller's trace that is not sampled: the handler's span records nothing, the request id still flows", async () => {
    const { seen, next } = handler();
    const res = await createServerTracingInterceptor()(next)(request({ traceparent: `00-${traceId}-${callerSpanId}-00`, "x-request-id": "req-1" }));
    expect(res.header.get("x-request-id")).toBe("req-1");
    expect(seen.span?.isRecording()).toBe(false);
    expect(seen.span?.spanContext()).toMatchObject({ traceId, traceFlags: TraceFlags.NONE });
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("records a sampled call with its RPC attributes and request id", async () => {
    const { seen, next } = handler();
    await createServerTracingInterceptor()(next)(request({ traceparent: `00-${traceId}-${callerSpanId}-01`, "x-request-id": "req-2" }));
    const [span] = exporter.getFinishedSpans();
    expect(seen.span?.spanContext().spanId).toBe(span?.spanContext().spanId);
    expect(span?.parentSpanContext?.spanId).toBe(callerSpanId);
    expect(span?.attributes).toEqual({
      "rpc.system": "grpc",
      "rpc.service": "mesh.health.v1.StatusService",
      "rpc.method": "GetStatus",
      "mesh.request_id": "req-2",
      "rpc.connect_rpc.error_code": "ok",
    });
  });
});
