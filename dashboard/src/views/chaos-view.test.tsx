// @vitest-environment happy-dom
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { render } from "preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BreakerService, BreakerState } from "../../../gen/mesh/control/v1/breaker_pb.ts";
import { ActiveFaultSchema, ChaosService, type ActiveFault, type InjectFaultRequest } from "../../../gen/mesh/control/v1/chaos_pb.ts";
import { EventService, EventType } from "../../../gen/mesh/control/v1/events_pb.ts";
import { RegistryService, ServingState } from "../../../gen/mesh/control/v1/registry_pb.ts";
import { invalidArguments } from "../../../lib/errors/connect-errors.ts";
import { ChaosView } from "./chaos-view.tsx";

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

/** An in-process mesh: two backends, a breaker view, an event stream the test can push to. */
function fakeMesh(options: { refuse?: ConnectError } = {}) {
  const faults: ActiveFault[] = [];
  const injected: InjectFaultRequest[] = [];
  let listCalls = 0;
  let pushEvent: ((type: EventType) => void) | undefined;
  const transport = createRouterTransport(({ service }) => {
    service(RegistryService, {
      async *watchInstances(_req, ctx) {
        yield {
          revision: 1n,
          event: {
            case: "snapshot",
            value: {
              instances: [
                { id: "backend-1", service: "backend", state: ServingState.SERVING },
                { id: "backend-2", service: "backend", state: ServingState.SERVING },
              ],
            },
          },
        };
        await untilAborted(ctx.signal);
      },
    });
    service(BreakerService, {
      async *watchBreakers(_req, ctx) {
        yield { breakers: [{ instanceId: "backend-1", gatewayId: "gw", state: BreakerState.OPEN }] };
        await untilAborted(ctx.signal);
      },
    });
    service(EventService, {
      async *watchEvents(_req, ctx) {
        const queue: EventType[] = [];
        let wake: (() => void) | undefined;
        pushEvent = (type) => {
          queue.push(type);
          wake?.();
        };
        while (!ctx.signal.aborted) {
          const type = queue.shift();
          if (type === undefined) {
            await Promise.race([new Promise<void>((r) => (wake = r)), untilAborted(ctx.signal)]);
            continue;
          }
          yield { event: { type } };
        }
      },
    });
    service(ChaosService, {
      listFaults() {
        listCalls += 1;
        return { faults };
      },
      injectFault(req) {
        if (options.refuse) throw options.refuse;
        injected.push(req);
        const fault = create(ActiveFaultSchema, {
          id: `f${faults.length + 1}`,
          target: req.target,
          fault: { spec: req.fault?.spec, duration: req.fault?.duration, expireTime: timestampFromMs(Date.now() + 90_000) },
          instanceIds: ["backend-1"],
        });
        faults.push(fault);
        return { fault };
      },
      clearFault(req) {
        const at = faults.findIndex((f) => f.id === req.id);
        if (at < 0) throw new ConnectError("not found", Code.NotFound);
        return { fault: faults.splice(at, 1)[0] };
      },
    });
  });
  return { transport, faults, injected, listCalls: () => listCalls, push: (type: EventType) => pushEvent?.(type) };
}

let host: HTMLElement | undefined;
afterEach(() => {
  if (host) render(null, host);
  host?.remove();
});

function mount(mesh: ReturnType<typeof fakeMesh>, canAct = true): HTMLElement {
  host = document.createElement("div");
  document.body.append(host);
  render(<ChaosView transport={mesh.transport} canAct={canAct} config={{ authRequired: true }} />, host);
  return host;
}

function change(element: Element | null, value: string, event = "change") {
  const input = element as HTMLInputElement | HTMLSelectElement;
  input.value = value;
  input.dispatchEvent(new Event(event, { bubbles: true }));
}

/** Lets Preact render the state updates of the events so far (it renders on a later tick). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Whether the target select offers `id`. */
const offers = (root: HTMLElement, id: string) => [...root.querySelectorAll("#fault-target option")].some((o) => o.textContent === id);

const button = (root: HTMLElement, text: string) =>
  [...root.querySelectorAll("button")].find((b) => b.textContent?.trim() === text) as HTMLButtonElement | undefined;

describe("ChaosView", () => {
  it("injects a fault on a chosen instance, shows it counting down, and clears it", async () => {
    const mesh = fakeMesh();
    const root = mount(mesh);
    await vi.waitFor(() => expect(offers(root, "backend-1")).toBe(true));
    expect(root.querySelector("tr[data-instance='backend-1'] [data-breaker]")?.textContent).toContain("breaker open");
    expect(root.textContent).toContain("No active faults");

    change(root.querySelector("#fault-target"), "backend-1");
    change(root.querySelector("#fault-durationSeconds"), "90", "input");
    await settle();
    button(root, "Inject fault")!.click();
    await vi.waitFor(() => expect(root.querySelector("[data-fault-id='f1']")).not.toBeNull());
    expect(mesh.injected[0]?.target?.target).toEqual({ case: "instanceId", value: "backend-1" });
    const row = root.querySelector("[data-fault-id='f1']")!;
    expect(row.textContent).toContain("Error rate 100 % UNAVAILABLE");
    expect(row.querySelector("[role='timer']")?.textContent).toMatch(/^1m [0-3]\ds$/);

    button(root, "Clear")!.click();
    await vi.waitFor(() => expect(root.querySelector("[data-fault-id='f1']")).toBeNull());
    expect(mesh.faults).toEqual([]);
  });

  it("says what is wrong before calling the server", async () => {
    const mesh = fakeMesh();
    const root = mount(mesh);
    await vi.waitFor(() => expect(offers(root, "backend-1")).toBe(true));
    change(root.querySelector("#fault-durationSeconds"), "0", "input");
    await settle();
    button(root, "Inject fault")!.click();
    await vi.waitFor(() => expect(root.querySelector("#fault-target-error")?.textContent).toBe("Choose an instance"));
    expect(root.querySelector("#fault-durationSeconds-error")?.textContent).toContain("between 1 and 86,400 s");
    expect(root.querySelector("#fault-durationSeconds")?.getAttribute("aria-invalid")).toBe("true");
    expect(mesh.injected).toEqual([]);
  });

  it("shows the server's InvalidArgument field and reason next to the field", async () => {
    const mesh = fakeMesh({ refuse: invalidArguments([{ field: "fault.duration", reason: "must be between 1s and 86400s" }]) });
    const root = mount(mesh);
    await vi.waitFor(() => expect(offers(root, "backend-2")).toBe(true));
    change(root.querySelector("#fault-target"), "backend-2");
    await settle();
    button(root, "Inject fault")!.click();
    await vi.waitFor(() => expect(root.querySelector("[role='alert']")?.textContent).toContain("fault.duration must be between 1s and 86400s"));
    expect(root.querySelector("#fault-durationSeconds-error")?.textContent).toContain("must be between 1s and 86400s");
  });

  it("re-reads the fault list on a fault event from the event stream", async () => {
    const mesh = fakeMesh();
    const root = mount(mesh);
    await vi.waitFor(() => expect(root.textContent).toContain("No active faults"));
    mesh.faults.push(
      create(ActiveFaultSchema, {
        id: "other",
        target: { target: { case: "service", value: "backend" } },
        fault: { spec: { case: "hang", value: { rate: 0 } }, expireTime: timestampFromMs(Date.now() + 30_000) },
        instanceIds: ["backend-1", "backend-2"],
      }),
    );
    await vi.waitFor(() => {
      mesh.push(EventType.FAULT_INJECTED);
      expect(root.querySelector("[data-fault-id='other']")?.textContent).toContain("service backend");
    });
  });

  it("disables every control and says why without the admin role", async () => {
    const mesh = fakeMesh();
    mesh.faults.push(
      create(ActiveFaultSchema, {
        id: "f9",
        target: { target: { case: "instanceId", value: "backend-1" } },
        fault: { spec: { case: "hang", value: { rate: 0 } }, expireTime: timestampFromMs(Date.now() + 30_000) },
      }),
    );
    const root = mount(mesh, false);
    await vi.waitFor(() => expect(root.querySelector("[data-fault-id='f9']")).not.toBeNull());
    expect(root.textContent).toContain("needs the admin role");
    expect((root.querySelector("form fieldset") as HTMLFieldSetElement).disabled).toBe(true);
    expect(button(root, "Clear")?.disabled).toBe(true);
    expect(button(root, "Clear all")?.disabled).toBe(true);
  });
});
