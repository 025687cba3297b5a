import { InvalidArgumentError, type Command } from "commander";
import { EventType, EventTypeSchema, type MeshEvent } from "../../gen/mesh/control/v1/events_pb.ts";
import type { CliContext } from "../cli-context.ts";
import { toJsonValue } from "../cli-output.ts";
import { fmt } from "../format-values.ts";

const typeNames = EventTypeSchema.values.filter((v) => v.number !== 0).map((v) => fmt.enumName(v.name, "EVENT_TYPE"));

function eventType(text: string, previous: EventType[] = []): EventType[] {
  const value = EventTypeSchema.values.find((v) => fmt.enumName(v.name, "EVENT_TYPE") === text);
  if (!value || value.number === 0) throw new InvalidArgumentError(`expected one of ${typeNames.join(", ")}`);
  return [...previous, value.number as EventType];
}

function row(e: MeshEvent): string[] {
  return [e.sequence.toString(), fmt.time(e.time), fmt.enumName(EventTypeSchema.value[e.type]?.name, "EVENT_TYPE"), e.service || "-", e.instanceId || "-", e.message];
}

/** `mesh events [--follow]`. */
export function registerEventsCommand(program: Command, context: () => CliContext): void {
  program
    .command("events")
    .description("list mesh events, newest first; --follow streams new ones as they happen")
    .option("--service <name>", "only events of this service", "")
    .option("--type <type>", `only events of this type (repeatable): ${typeNames.join(", ")}`, eventType, [])
    .option("--limit <n>", "how many to list", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError("expected 1 to 1000");
      return n;
    }, 20)
    .option("-f, --follow", "keep streaming new events until Ctrl-C")
    .action(async (o: { service: string; type: EventType[]; limit: number; follow?: boolean }) => {
      const ctx = context();
      const { events } = await ctx.events.listEvents({ service: o.service, types: o.type, pageSize: o.limit });
      const head = ["seq", "time", "type", "service", "instance", "message"];
      if (!o.follow) {
        if (ctx.out.json) return ctx.out.data(events);
        return ctx.out.table(head, events.map(row));
      }
      const oldestFirst = [...events].reverse();
      for (const e of oldestFirst) ctx.out.line(ctx.out.json ? JSON.stringify(toJsonValue(e)) : row(e).join("  "));
      const after = events[0]?.sequence ?? 0n;
      const abort = new AbortController();
      process.once("SIGINT", () => abort.abort());
      try {
        for await (const { event } of ctx.events.watchEvents({ service: o.service, types: o.type, afterSequence: after }, { signal: abort.signal, timeoutMs: 0 })) {
          if (!event) continue;
          ctx.out.line(ctx.out.json ? JSON.stringify(toJsonValue(event)) : row(event).join("  "));
        }
      } catch (err) {
        if (!abort.signal.aborted) throw err;
      }
    });
}
