import { context, createContextKey, trace, type Context } from "@opentelemetry/api";

const requestIdKey = createContextKey("mesh.request_id");

/** The active request's id (from `x-request-id` or generated), if any. */
export function currentRequestId(): string | undefined {
  const value = context.active().getValue(requestIdKey);
  return typeof value === "string" ? value : undefined;
}

/** Runs `fn` with `requestId` as the active request id. */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return context.with(setRequestId(context.active(), requestId), fn);
}

/** `ctx` with `requestId` as its request id: for entering a span's context and the id in one step. */
export function setRequestId(ctx: Context, requestId: string): Context {
  return ctx.setValue(requestIdKey, requestId);
}

/** Fields that tie a log line to its trace and request: `trace_id`, `span_id`, `request_id`. */
export function logCorrelation(): Record<string, string> {
  const fields: Record<string, string> = {};
  const span = trace.getActiveSpan();
  if (span) {
    const { traceId, spanId } = span.spanContext();
    fields.trace_id = traceId;
    fields.span_id = spanId;
  }
  const requestId = currentRequestId();
  if (requestId !== undefined) fields.request_id = requestId;
  return fields;
}
