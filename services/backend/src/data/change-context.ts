import { context, propagation } from "@opentelemetry/api";
import type { Call } from "./call-context.ts";
import type { ChangeContext } from "./change-log-sql.ts";

/**
 * What a write records beside its change (the audit row's request id and actor, the outbox event's topic),
 * with the active W3C trace context, for the outbox relay to continue the request's trace.
 */
export function changeContext(call: Call, action: ChangeContext["action"], topic: string): ChangeContext {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return { action, topic, requestId: call.requestId, actor: call.actor, traceContext: Object.keys(carrier).length === 0 ? null : carrier };
}
