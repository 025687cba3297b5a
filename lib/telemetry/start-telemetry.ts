import { context, propagation } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import type { Telemetry, TelemetryOptions } from "./telemetry.ts";

export type { Telemetry, TelemetryOptions } from "./telemetry.ts";

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
