import { EventType, EventTypeSchema, type MeshEvent } from "../../../gen/mesh/control/v1/events_pb.ts";
import type { Tone } from "../ui/status-badge.tsx";

/** Events kept in memory: older ones drop off the end. */
export const eventLogLimit = 500;

/** `incoming` merged into `events`: each sequence once, newest first, at most `limit`. */
export function mergeEvents(events: readonly MeshEvent[], incoming: readonly MeshEvent[], limit = eventLogLimit): MeshEvent[] {
  const bySequence = new Map<bigint, MeshEvent>();
  for (const e of events) bySequence.set(e.sequence, e);
  for (const e of incoming) bySequence.set(e.sequence, e);
  return [...bySequence.values()].sort((a, b) => (a.sequence === b.sequence ? 0 : a.sequence > b.sequence ? -1 : 1)).slice(0, limit);
}

/** "instance up" for EVENT_TYPE_INSTANCE_UP. */
export function eventTypeLabel(type: EventType): string {
  const name = EventTypeSchema.value[type]?.name ?? `EVENT_TYPE_${type}`;
  return name.replace(/^EVENT_TYPE_/, "").toLowerCase().replaceAll("_", " ");
}

/** The tone of an event: failures vermillion, recoveries blue; a health change by the state it reached. */
export function eventTone(event: Pick<MeshEvent, "type" | "attributes">): Tone {
  switch (event.type) {
    case EventType.INSTANCE_HEALTH_CHANGED:
      return event.attributes?.state === "SERVING" ? "ok" : event.attributes?.state === "NOT_SERVING" ? "failing" : "degraded";
    case EventType.INSTANCE_DOWN:
    case EventType.BREAKER_OPENED:
    case EventType.FAULT_INJECTED:
      return "failing";
    case EventType.SCALED:
      return "degraded";
    case EventType.INSTANCE_UP:
    case EventType.BREAKER_CLOSED:
    case EventType.FAULT_CLEARED:
    case EventType.FAULT_EXPIRED:
      return "ok";
    default:
      return "unknown";
  }
}

export interface EventFilter {
  /** EventType.UNSPECIFIED for every type. */
  type: EventType;
  /** Empty for every service. */
  service: string;
  /** Empty for every instance. */
  instance: string;
  /** Case-insensitive text in the message, type, service or instance. */
  text: string;
}

export const noFilter: EventFilter = { type: EventType.UNSPECIFIED, service: "", instance: "", text: "" };

export function matchesFilter(event: MeshEvent, filter: EventFilter): boolean {
  if (filter.type !== EventType.UNSPECIFIED && event.type !== filter.type) return false;
  if (filter.service !== "" && event.service !== filter.service) return false;
  if (filter.instance !== "" && event.instanceId !== filter.instance) return false;
  const text = filter.text.trim().toLowerCase();
  if (text === "") return true;
  return [event.message, eventTypeLabel(event.type), event.service, event.instanceId].some((field) => field.toLowerCase().includes(text));
}

/** The distinct non-empty values of a field, sorted, for the filter's choices. */
export function distinct(events: readonly MeshEvent[], field: "service" | "instanceId"): string[] {
  return [...new Set(events.map((e) => e[field]).filter((v) => v !== ""))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}
