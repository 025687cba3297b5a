// @vitest-environment happy-dom
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createRouterTransport } from "@connectrpc/connect";
import { render } from "preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EventService, EventType, MeshEventSchema, type MeshEvent, type WatchEventsRequest } from "../../../gen/mesh/control/v1/events_pb.ts";
import { EventsView } from "./events-view.tsx";

const ev = (sequence: number, type: EventType, instanceId: string, message: string) =>
  create(MeshEventSchema, { sequence: BigInt(sequence), type, service: "backend", instanceId, message, time: timestampFromMs(Date.now() - 60_000) });

/** An event service with a stored history and a live stream the test pushes to. */
function fakeEvents(history: MeshEvent[]) {
  const watches: WatchEventsRequest[] = [];
  let push: ((e: MeshEvent) => void) | undefined;
  const transport = createRouterTransport(({ service }) => {
    service(EventService, {
      listEvents: () => ({ events: [...history].reverse() }),
      async *watchEvents(req, ctx) {
        watches.push(req);
        const queue: MeshEvent[] = [];
        let wake: (() => void) | undefined;
        push = (e) => {
          queue.push(e);
          wake?.();
        };
        while (!ctx.signal.aborted) {
          const next = queue.shift();
          if (next) yield { event: next };
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    });
  });
  return { transport, watches, push: (e: MeshEvent) => push?.(e) };
}

let host: HTMLElement | undefined;
afterEach(() => {
  if (host) render(null, host);
  host?.remove();
});

function mount(transport: ReturnType<typeof fakeEvents>["transport"]): HTMLElement {
  host = document.createElement("div");
  document.body.append(host);
  render(<EventsView transport={transport} canAct={false} config={{ authRequired: true }} />, host);
  return host;
}

const sequences = (root: HTMLElement) => [...root.querySelectorAll("li.event")].map((li) => li.getAttribute("data-sequence"));

function change(element: Element | null, value: string, event = "change") {
  const input = element as HTMLInputElement | HTMLSelectElement;
  input.value = value;
  input.dispatchEvent(new Event(event, { bubbles: true }));
}

describe("EventsView", () => {
  it("shows the history, then live events after it, newest first", async () => {
    const fake = fakeEvents([ev(1, EventType.INSTANCE_UP, "backend-1", "backend-1 registered"), ev(2, EventType.INSTANCE_UP, "backend-2", "backend-2 registered")]);
    const root = mount(fake.transport);
    await vi.waitFor(() => expect(sequences(root)).toEqual(["2", "1"]));
    await vi.waitFor(() => expect(fake.watches).toHaveLength(1));
    // The stream resumes after the history, so nothing is missed or shown twice.
    expect(fake.watches[0]!.afterSequence).toBe(2n);
    fake.push(ev(3, EventType.BREAKER_OPENED, "backend-1", "breaker opened on gateway-1"));
    await vi.waitFor(() => expect(sequences(root)).toEqual(["3", "2", "1"]));
    expect(root.querySelector('li.event[data-sequence="3"]')?.textContent).toContain("breaker opened");
  });

  it("filters by type, instance and text, and says when nothing matches", async () => {
    const fake = fakeEvents([
      ev(1, EventType.INSTANCE_UP, "backend-1", "backend-1 registered"),
      ev(2, EventType.BREAKER_OPENED, "backend-2", "breaker opened on gateway-1"),
      ev(3, EventType.INSTANCE_UP, "backend-2", "backend-2 registered"),
    ]);
    const root = mount(fake.transport);
    await vi.waitFor(() => expect(sequences(root)).toHaveLength(3));
    change(root.querySelector("#event-type"), String(EventType.INSTANCE_UP));
    await vi.waitFor(() => expect(sequences(root)).toEqual(["3", "1"]));
    change(root.querySelector("#event-instance"), "backend-2");
    await vi.waitFor(() => expect(sequences(root)).toEqual(["3"]));
    change(root.querySelector("#event-text"), "nothing like this", "input");
    await vi.waitFor(() => expect(root.textContent).toContain("No event matches the filters"));
    [...root.querySelectorAll("button")].find((b) => b.textContent === "Clear filters")!.click();
    await vi.waitFor(() => expect(sequences(root)).toHaveLength(3));
  });

  it("says what to do when there are no events yet", async () => {
    const fake = fakeEvents([]);
    const root = mount(fake.transport);
    await vi.waitFor(() => expect(root.textContent).toContain("No events yet"));
    expect(root.textContent).toContain("inject a fault");
  });
});
