import { createClient } from "@connectrpc/connect";
import { useMemo, useRef, useState } from "preact/hooks";
import { EventService, EventType, EventTypeSchema, type MeshEvent } from "../../../gen/mesh/control/v1/events_pb.ts";
import { distinct, eventLogLimit, eventTone, eventTypeLabel, matchesFilter, mergeEvents, noFilter, type EventFilter } from "../events/event-log.ts";
import { useStream } from "../streams/use-stream.ts";
import { EmptyState } from "../ui/empty-state.tsx";
import { ErrorState } from "../ui/error-state.tsx";
import { timestampMs } from "../ui/format.ts";
import { RelativeTime } from "../ui/relative-time.tsx";
import { StatusBadge } from "../ui/status-badge.tsx";
import { StreamStatusBadge } from "../ui/stream-status-badge.tsx";
import type { ViewProps } from "../view-props.ts";

/** The recent history first (ListEvents), then the live stream from the last event seen (WatchEvents). */
const backlogSize = 100;

const eventTypeOptions = EventTypeSchema.values
  .map((v) => v.number as EventType)
  .filter((t) => t !== EventType.UNSPECIFIED)
  .map((t) => ({ value: String(t), label: eventTypeLabel(t) }));

/** One filter: a labelled select whose first option, the empty value, means no filter. */
function FilterSelect(props: {
  id: string;
  label: string;
  all: string;
  value: string;
  options: readonly (string | { value: string; label: string })[];
  onChange: (value: string) => void;
}) {
  return (
    <div>
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}>
        <option value="">{props.all}</option>
        {props.options.map((o) => {
          const { value, label } = typeof o === "string" ? { value: o, label: o } : o;
          return (
            <option key={value} value={value}>
              {label}
            </option>
          );
        })}
      </select>
    </div>
  );
}

function EventRow(props: { event: MeshEvent }) {
  const e = props.event;
  const at = timestampMs(e.time);
  return (
    <li class="event" data-sequence={String(e.sequence)} data-type={eventTypeLabel(e.type)}>
      <span>{at === undefined ? "–" : <RelativeTime ms={at} />}</span>
      <span class="event-type">
        <StatusBadge tone={eventTone(e)} label={eventTypeLabel(e.type)} />
      </span>
      <span>
        {e.message}
        {(e.service || e.instanceId) && (
          <span class="event-where">
            {" "}
            · {[e.service, e.instanceId].filter((s) => s !== "").join(" / ")}
          </span>
        )}
      </span>
    </li>
  );
}

/** The mesh's events as they happen, newest first, filterable by type, service, instance and text. */
export function EventsView(props: ViewProps) {
  const client = useMemo(() => createClient(EventService, props.transport), [props.transport]);
  const [events, setEvents] = useState<MeshEvent[]>([]);
  const [filter, setFilter] = useState<EventFilter>(noFilter);
  const lastSequence = useRef(0n);

  const stream = useStream(
    async function* open(signal): AsyncIterable<MeshEvent[]> {
      // A reconnect resumes after the last event seen; the first connect starts with the recent history.
      if (lastSequence.current === 0n) {
        const { events: backlog } = await client.listEvents({ pageSize: backlogSize }, { signal });
        yield backlog;
      }
      for await (const res of client.watchEvents({ afterSequence: lastSequence.current }, { signal })) {
        if (res.event) yield [res.event];
      }
    },
    [client],
    (batch) => {
      for (const e of batch) if (e.sequence > lastSequence.current) lastSequence.current = e.sequence;
      setEvents((current) => mergeEvents(current, batch));
    },
  );

  const shown = events.filter((e) => matchesFilter(e, filter));
  const services = distinct(events, "service");
  const instances = distinct(events, "instanceId");
  const filtered = filter !== noFilter;
  const set = (patch: Partial<EventFilter>) => setFilter((f) => ({ ...f, ...patch }));

  return (
    <section class="panel" aria-labelledby="events-title">
      <div class="panel-title">
        <h3 id="events-title">Mesh events</h3>
        <StreamStatusBadge status={stream.status} what="events" />
      </div>
      <form class="filters" role="search" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
        <FilterSelect id="event-type" label="Type" all="All types" value={filter.type === EventType.UNSPECIFIED ? "" : String(filter.type)} options={eventTypeOptions} onChange={(v) => set({ type: (v === "" ? EventType.UNSPECIFIED : Number(v)) as EventType })} />
        <FilterSelect id="event-service" label="Service" all="All services" value={filter.service} options={services} onChange={(service) => set({ service })} />
        <FilterSelect id="event-instance" label="Instance" all="All instances" value={filter.instance} options={instances} onChange={(instance) => set({ instance })} />
        <div>
          <label for="event-text">Text</label>
          <input id="event-text" type="search" placeholder="e.g. breaker, backend-1" value={filter.text} onInput={(e) => set({ text: (e.target as HTMLInputElement).value })} />
        </div>
        {filtered && (
          <button type="button" onClick={() => setFilter(noFilter)}>
            Clear filters
          </button>
        )}
      </form>
      <p class="hint" aria-live="polite">
        Showing {shown.length} of {events.length} events (the newest {eventLogLimit} are kept).
      </p>
      {stream.status.kind === "failed" && (
        <ErrorState title="The event stream stopped" message={stream.status.error.rawMessage}>
          <p>Sign in with a token that may read events, or check that the control plane is running, then reload the page.</p>
        </ErrorState>
      )}
      {events.length === 0 ? (
        stream.status.kind !== "failed" && (
          <EmptyState title="No events yet">
            <p>Events appear here as they happen: kill or scale a backend, inject a fault from Chaos, or start a load test.</p>
          </EmptyState>
        )
      ) : shown.length === 0 ? (
        <EmptyState title="No event matches the filters">
          <p>
            Loosen the filters or <button type="button" onClick={() => setFilter(noFilter)}>clear them</button>.
          </p>
        </EmptyState>
      ) : (
        <ol class="event-list" aria-label="Events, newest first">
          {shown.map((e) => (
            <EventRow key={String(e.sequence)} event={e} />
          ))}
        </ol>
      )}
    </section>
  );
}
