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

/** What a change records besides the entity: the same for its audit row and its outbox event. */
export interface ChangeContext {
  readonly action: Change["action"];
  /** Outbox topic, such as `item.created`. */
  readonly topic: string;
  readonly requestId: string | null;
  readonly actor: string;
  readonly traceContext: Readonly<Record<string, string>> | null;
}

/**
 * CTEs `audit` and `outbox` that record, inside the data-modifying statement making the change, the audit
 * row and the outbox event of each row of `source`: columns `entity_id`, and `old_value` and `new_value`
 * (jsonb, the entity as the API's JSON). The event's payload is `{type, action, <entity>, actor,
 * requestId}`, as recordChange's callers write it. The context takes the five parameters from `$first`
 * on: pass changeParameters(context) there.
 */
export function changeRecordCtes(entity: Change["entity"], source: string, first: number): string {
  const [action, topic, requestId, actor, traceContext] = [0, 1, 2, 3, 4].map((i) => `$${first + i}`);
  return `audit AS (
       INSERT INTO audit_log (entity, entity_id, action, old_value, new_value, request_id, actor)
       SELECT '${entity}', entity_id, ${action}::text, old_value, new_value, ${requestId}::text, ${actor}::text FROM ${source}
     ),
     outbox AS (
       INSERT INTO outbox (topic, aggregate_id, payload, trace_context)
       SELECT ${topic}::text, entity_id,
              jsonb_build_object('type', ${topic}::text, 'action', ${action}::text, '${entity}', new_value,
                                 'actor', ${actor}::text, 'requestId', ${requestId}::text),
              ${traceContext}::jsonb
         FROM ${source}
     )`;
}

/** The values of changeRecordCtes' five parameters, in order. */
export function changeParameters(context: ChangeContext): unknown[] {
  return [
    context.action,
    context.topic,
    context.requestId,
    context.actor,
    context.traceContext === null ? null : JSON.stringify(context.traceContext),
  ];
}
