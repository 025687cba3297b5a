import { NodeSDK } from "@opentelemetry/sdk-node";
import { OTLPTraceExporter as OTLPJsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace";
import { context, propagation } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";

export interface TelemetryOptions {
  /** service.name, such as "backend". */
  serviceName: string;
  /** service.instance.id, such as "backend-1". */
  instanceId: string;
  /** service.version. */
  version: string;
  /** OTLP/HTTP base URL, such as http://127.0.0.1:4318. Without it spans are made and propagated, not exported. */
  endpoint?: string | undefined;
  /** Share of new traces sampled; children follow their parent's decision. */
  ratio: number;
  /** OTLP/HTTP encoding. @default "http/protobuf" */
  protocol?: "http/protobuf" | "http/json";
  /** Delay between two exports. @default 5000 */
  exportDelayMs?: number;
}

export interface Telemetry {
  /** Flushes pending spans and stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK when there is somewhere to export to: parent-based ratio sampling, OTLP/HTTP
 * export, and the http, pg and ioredis instrumentations. HTTP/2 is not instrumented by Node's SDK, so RPC spans come from the Connect
 * interceptors in tracing-interceptors.ts.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (options.endpoint === undefined) return startContextOnly();
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

/**
 * Without an exporter nobody reads spans, so no SDK runs and nothing is patched: only the context manager
 * (for the active request id and the caller's trace) and the W3C propagator, so trace context still flows
 * through this process to the next and log lines still carry the caller's trace id.
 */
function startContextOnly(): Telemetry {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  return {
    async shutdown() {
      manager.disable();
    },
  };
}
