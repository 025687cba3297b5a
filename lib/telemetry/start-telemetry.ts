import { context, propagation } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";

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
 * Starts the OpenTelemetry SDK when there is somewhere to export to (see start-sdk.ts), else only context
 * propagation. The SDK, its exporters and instrumentations are imported only then: they cost a process that
 * exports nothing about 40 MB of memory.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  if (options.endpoint === undefined) return startContextOnly();
  const { startSdk } = await import("./start-sdk.ts");
  return startSdk({ ...options, endpoint: options.endpoint });
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
