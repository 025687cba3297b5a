import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { EventService, EventType, type MeshEvent } from "../../../../gen/mesh/control/v1/events_pb.ts";
import { invalidArgument } from "../../../../lib/errors/connect-errors.ts";
import { isEnumValue } from "../../../../lib/errors/enum-value.ts";
import type { EventFilter, EventLog } from "./event-log.ts";

const servicePattern = /^[A-Za-z0-9._-]{1,100}$/;

function readFilter(types: readonly EventType[], service: string, typesField: string): EventFilter {
  types.forEach((t, i) => {
    if (t === EventType.UNSPECIFIED || !isEnumValue(EventType, t)) throw invalidArgument(`${typesField}[${i}]`, "unknown event type");
  });
  if (service !== "" && !servicePattern.test(service)) throw invalidArgument("service", "must be a service name such as backend");
  return { types, service };
}

function matches(filter: EventFilter, event: MeshEvent): boolean {
  return (filter.types.length === 0 || filter.types.includes(event.type)) && (filter.service === "" || filter.service === event.service);
}

/** Page tokens are the sequence to continue before, so they stay valid while events are appended. */
function parsePageToken(token: string): bigint | undefined {
  if (token === "") return undefined;
  const text = Buffer.from(token, "base64url").toString("utf8");
  if (!/^e:[1-9]\d{0,18}$/.test(text)) throw invalidArgument("page_token", "is not a token from a previous ListEvents response");
  return BigInt(text.slice(2));
}

const pageToken = (sequence: bigint) => Buffer.from(`e:${sequence}`, "utf8").toString("base64url");

/** mesh.control.v1.EventService over the event log. */
export function createEventService(deps: { log: EventLog; stop?: AbortSignal }): ServiceImpl<typeof EventService> {
  const { log } = deps;
  return {
    async listEvents(req) {
      if (req.pageSize < 0 || req.pageSize > 1000) throw invalidArgument("page_size", "must be between 0 and 1000");
      const filter = readFilter(req.types, req.service, "types");
      const limit = req.pageSize === 0 ? 50 : req.pageSize;
      const rows = await log.list(filter, limit + 1, parsePageToken(req.pageToken));
      const events = rows.slice(0, limit);
      const last = events.at(-1);
      return { events, nextPageToken: rows.length > limit && last ? pageToken(last.sequence) : "" };
    },
    async *watchEvents(req, ctx) {
      const filter = readFilter(req.types, req.service, "types");
      if (req.afterSequence < 0n) throw invalidArgument("after_sequence", "must not be negative");
      const signal = deps.stop ? AbortSignal.any([ctx.signal, deps.stop]) : ctx.signal;
      const pending: MeshEvent[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = log.subscribe((event) => {
        if (matches(filter, event)) {
          pending.push(event);
          wake?.();
        }
      });
      const onAbort = () => wake?.();
      signal.addEventListener("abort", onAbort);
      try {
        // Sequences sent by the replay, so live copies of them are skipped. Live events are not compared by
        // order: concurrent transactions can commit a lower sequence after a higher one.
        const replayed = new Set<bigint>();
        if (req.afterSequence > 0n) {
          let after = req.afterSequence;
          for (;;) {
            const page = await log.listAfter(filter, after, 500);
            for (const event of page) {
              yield { event };
              replayed.add(event.sequence);
              after = event.sequence;
            }
            if (page.length < 500) break;
          }
        }
        while (!signal.aborted) {
          if (pending.length > 10_000) throw new ConnectError("the watcher fell too far behind; resume with after_sequence", Code.ResourceExhausted);
          const event = pending.shift();
          if (event === undefined) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          if (replayed.delete(event.sequence)) continue;
          yield { event };
        }
      } finally {
        unsubscribe();
        signal.removeEventListener("abort", onAbort);
      }
    },
  };
}
