import { NodeSDK } from "@opentelemetry/sdk-node";
import { OTLPTraceExporter as OTLPJsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { context, trace } from "@opentelemetry/api";
import { isTracingSuppressed } from "@opentelemetry/core";
import { createInstrumentationTracerProvider } from "./instrumentation-tracer-provider.ts";
import { skipUnsampledCalls } from "./skip-unsampled-calls.ts";
import type { Telemetry, TelemetryOptions } from "./telemetry.ts";

// Valkey commands and SQL queries in a trace that is not sampled run as with tracing off (see skip-unsampled-calls.ts).
const PgTracing = skipUnsampledCalls(PgInstrumentation);
const IORedisTracing = skipUnsampledCalls(IORedisInstrumentation);

/**
 * Starts the OpenTelemetry SDK: parent-based ratio sampling, OTLP/HTTP
 * export, and the http, pg and ioredis instrumentations. HTTP/2 is not instrumented by Node's SDK, so RPC spans come from the Connect
 * interceptors in tracing-interceptors.ts.
 *
 * The sampler decides by trace id and parent only (never by attributes), and a child of a span that is not
 * sampled is never sampled: the instrumentations and the interceptors rely on both to skip work in traces that
 * are not sampled (see unsampled-trace.ts).
 */
export function startSdk(options: TelemetryOptions & { endpoint: string }): Telemetry {
  const spanProcessors = [
    new BatchSpanProcessor({
      exporter: new (options.protocol === "http/json" ? OTLPJsonTraceExporter : OTLPTraceExporter)({
        url: new URL("/v1/traces", options.endpoint).toString(),
      }),
      scheduledDelayMillis: options.exportDelayMs ?? 5000,
    }),
  ];
  const instrumentations = [
    new HttpInstrumentation({
      // The mesh's own RPC spans come from interceptors; plain-HTTP spans add only noise for /metrics scrapes.
      ignoreIncomingRequestHook: (req) => req.url === "/metrics",
      // The exporter's own requests run with tracing suppressed: their span would record nothing, so the
      // instrumentation need not build its attributes, context and listeners for each export either.
      ignoreOutgoingRequestHook: () => isTracingSuppressed(context.active()),
    }),
    new PgTracing({ enhancedDatabaseReporting: false }),
    new IORedisTracing({}),
  ];
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: options.version,
      "service.instance.id": options.instanceId,
    }),
    autoDetectResources: false,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.ratio) }),
    spanProcessors,
    // Metrics come from prom-client and logs from pino; without these the SDK adds OTLP exporters for both.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations,
  });
  sdk.start();
  // After start, so that the SDK's tracer provider is the global one the shortcuts hand their spans to.
  const instrumentationTracers = createInstrumentationTracerProvider(trace.getTracerProvider());
  for (const instrumentation of instrumentations) instrumentation.setTracerProvider(instrumentationTracers);
  return { shutdown: () => sdk.shutdown() };
}

