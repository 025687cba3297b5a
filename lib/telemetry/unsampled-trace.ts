import { TraceFlags, trace, type Context } from "@opentelemetry/api";

/**
 * True when `ctx` carries a span whose trace is not sampled (or no valid trace at all). Under the mesh's
 * parent-based sampler nothing started below such a span records, so its children need not be started: the
 * context alone, propagated as it is, carries the decision downstream.
 */
export function inUnsampledTrace(ctx: Context): boolean {
  const span = trace.getSpan(ctx);
  return span !== undefined && (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0;
}
