import type { JsonValue } from "@bufbuild/protobuf";
import type { Query } from "./db-runner.ts";

/** One committed change: its audit row and its outbox event, written in the change's transaction. */
export interface Change {
  readonly entity: "item" | "user";
  readonly entityId: string;
  readonly action: "create" | "update" | "delete" | "undelete";
  /** The entity before and after, as the API's JSON; null for none. */
  readonly oldValue: JsonValue | null;
  readonly newValue: JsonValue | null;
  readonly requestId: string | null;
  readonly actor: string;
  /** Outbox topic, such as `item.created`. */
  readonly topic: string;
  readonly payload: JsonValue;
  /** W3C trace context (`traceparent`, `tracestate`) of the request, for the relay to continue the trace. */
  readonly traceContext: Readonly<Record<string, string>> | null;
}

/** The audit row and the outbox event in one statement. */
export async function recordChange(query: Query, change: Change): Promise<void> {
  await query(
    "change.record",
    `WITH audit AS (
       INSERT INTO audit_log (entity, entity_id, action, old_value, new_value, request_id, actor)
       VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7)
     )
     INSERT INTO outbox (topic, aggregate_id, payload, trace_context) VALUES ($8, $2, $9::jsonb, $10::jsonb)`,
    [
      change.entity,
      change.entityId,
      change.action,
      change.oldValue === null ? null : JSON.stringify(change.oldValue),
      change.newValue === null ? null : JSON.stringify(change.newValue),
      change.requestId,
      change.actor,
      change.topic,
      JSON.stringify(change.payload),
      change.traceContext === null ? null : JSON.stringify(change.traceContext),
    ],
  );
}
