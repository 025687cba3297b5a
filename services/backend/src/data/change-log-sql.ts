/** The kinds of entity whose changes are recorded. */
export type ChangedEntity = "item" | "user";

/**
 * What a change records besides the entity: the same for its audit row and its outbox event, written in
 * the change's own statement.
 */
export interface ChangeContext {
  readonly action: "create" | "update" | "delete" | "undelete";
  /** Outbox topic, such as `item.created`. */
  readonly topic: string;
  readonly requestId: string | null;
  readonly actor: string;
  /** W3C trace context (`traceparent`, `tracestate`) of the request, for the relay to continue the trace. */
  readonly traceContext: Readonly<Record<string, string>> | null;
}

/**
 * CTEs `audit` and `outbox` that record, inside the data-modifying statement making the change, the audit
 * row and the outbox event of each row of `source`: columns `entity_id`, and `old_value` and `new_value`
 * (jsonb, the entity as the API's JSON). The event's payload is `{type, action, <entity>, actor,
 * requestId}`. The context takes the five parameters from `$first` on: pass changeParameters(context) there.
 */
export function changeRecordCtes(entity: ChangedEntity, source: string, first: number): string {
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
