import { ROOT_CONTEXT, SpanKind, TraceFlags, context, trace, type SpanOptions, type TracerProvider } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { AlwaysOnSampler, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor, TracerProvider as SdkTracerProvider } from "@opentelemetry/sdk-trace";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createInstrumentationTracerProvider } from "./instrumentation-tracer-provider.ts";

const exporter = new InMemorySpanExporter();
const sdk = new SdkTracerProvider({ sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
/** What reached the SDK's startSpan. */
const started: { name: string; options: SpanOptions | undefined }[] = [];
const counting: TracerProvider = {
  getTracer(name, version, options) {
    const tracer = sdk.getTracer(name, version, options);
    return {
      startSpan(spanName, spanOptions, ctx) {
        started.push({ name: spanName, options: spanOptions });
        return tracer.startSpan(spanName, spanOptions, ctx);
      },
      startActiveSpan: tracer.startActiveSpan.bind(tracer),
    } as typeof tracer;
  },
};
const tracer = createInstrumentationTracerProvider(counting).getTracer("test-instrumentation");
const manager = new AsyncLocalStorageContextManager();

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const parentSpanId = "00f067aa0ba902b7";
const parent = (flags: TraceFlags, isRemote: boolean) => trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: parentSpanId, traceFlags: flags, isRemote });
const attributes = { "db.system.name": "redis", "db.query.text": "get k", "server.port": 6379 };

beforeAll(() => {
  context.setGlobalContextManager(manager.enable());
});
afterAll(() => {
  context.disable();
});
afterEach(() => {
  exporter.reset();
  started.length = 0;
});

describe("createInstrumentationTracerProvider", () => {
  it.each([
    ["a local parent", false],
    ["a remote parent", true],
  ])("under %s that is not sampled: the parent's context, not recording, without the SDK", (_, isRemote) => {
    const span = tracer.startSpan("get", { kind: SpanKind.CLIENT, attributes }, parent(TraceFlags.NONE, isRemote));
    expect(span.isRecording()).toBe(false);
    expect(span.spanContext()).toMatchObject({ traceId, spanId: parentSpanId, traceFlags: TraceFlags.NONE });
    span.end();
    expect(started).toEqual([]);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("under a sampled parent: the SDK's span, given its attributes once it records", () => {
    const span = tracer.startSpan("get", { kind: SpanKind.CLIENT, attributes }, parent(TraceFlags.SAMPLED, false));
    span.end();
    expect(started).toEqual([{ name: "get", options: { kind: SpanKind.CLIENT } }]);
    const [finished] = exporter.getFinishedSpans();
    expect(finished?.spanContext().traceId).toBe(traceId);
    expect(finished?.parentSpanContext?.spanId).toBe(parentSpanId);
    expect(finished?.kind).toBe(SpanKind.CLIENT);
    expect(finished?.attributes).toEqual(attributes);
  });

  it("without a parent, or asked for a root under an unsampled one: the SDK decides", () => {
    tracer.startSpan("root", { attributes }).end();
    tracer.startSpan("new root", { root: true }, parent(TraceFlags.NONE, false)).end();
    expect(started.map((s) => s.name)).toEqual(["root", "new root"]);
    const finished = exporter.getFinishedSpans();
    expect(finished.map((s) => s.name)).toEqual(["root", "new root"]);
    expect(finished[0]?.attributes).toEqual(attributes);
    expect(finished[1]?.spanContext().traceId).not.toBe(traceId);
  });

  it("startActiveSpan runs the function with the span active, from the active context", () => {
    const active = context.with(parent(TraceFlags.NONE, false), () => tracer.startActiveSpan("get", (span) => trace.getActiveSpan() === span && span));
    expect(active && active.spanContext().spanId).toBe(parentSpanId);
    const recorded = context.with(parent(TraceFlags.SAMPLED, false), () =>
      tracer.startActiveSpan("get", { attributes }, (span) => {
        span.end();
        return trace.getActiveSpan() === span;
      }),
    );
    expect(recorded).toBe(true);
    expect(exporter.getFinishedSpans()[0]?.attributes).toEqual(attributes);
  });
});
