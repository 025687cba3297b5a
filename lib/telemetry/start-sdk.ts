import { NodeSDK } from "@opentelemetry/sdk-node";
import { OTLPTraceExporter as OTLPJsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import type { Telemetry, TelemetryOptions } from "./telemetry.ts";

/**
 * Starts the OpenTelemetry SDK: parent-based ratio sampling, OTLP/HTTP
 * export, and the http, pg and ioredis instrumentations. HTTP/2 is not instrumented by Node's SDK, so RPC spans come from the Connect
 * interceptors in tracing-interceptors.ts.
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
    instrumentations: [
      new HttpInstrumentation({
        // The mesh's own RPC spans come from interceptors; plain-HTTP spans add only noise for /metrics scrapes.
        ignoreIncomingRequestHook: (req) => req.url === "/metrics",
      }),
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      new IORedisInstrumentation({}),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

