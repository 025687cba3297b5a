// @vitest-environment happy-dom
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { render } from "preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EventService } from "../../../gen/mesh/control/v1/events_pb.ts";
import { Orchestrator, ProcessState, ScalingService, ServiceScaleSchema, type ServiceScale } from "../../../gen/mesh/control/v1/scaling_pb.ts";
import { parseReplicas, ScalingPanel } from "./scaling-panel.tsx";

const untilAborted = (signal: AbortSignal) => new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));

function fakeScaling(options: { refuse?: ConnectError } = {}) {
  const scale: ServiceScale = create(ServiceScaleSchema, {
    service: "backend",
    desiredReplicas: 2,
    readyReplicas: 2,
    orchestrator: Orchestrator.LOCAL,
    instances: [
      { instanceId: "backend-1", state: ProcessState.RUNNING },
      { instanceId: "backend-2", state: ProcessState.RUNNING },
    ],
  });
  const calls: number[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(EventService, { watchEvents: async function* (_r, ctx) { await untilAborted(ctx.signal); } });
    service(ScalingService, {
      getScale() {
        if (options.refuse) throw options.refuse;
        return { scale };
      },
      scaleService(req) {
        calls.push(req.replicas);
        scale.desiredReplicas = req.replicas;
        return { scale };
      },
    });
  });
  return { transport, calls };
}

let host: HTMLElement | undefined;
afterEach(() => {
  if (host) render(null, host);
  host?.remove();
});

function mount(transport: ReturnType<typeof fakeScaling>["transport"], canAct = true) {
  host = document.createElement("div");
  document.body.append(host);
  render(<ScalingPanel transport={transport} canAct={canAct} config={{ authRequired: true }} service="backend" />, host);
  return host;
}

describe("parseReplicas", () => {
  it.each([
    ["0", 0],
    ["16", 16],
    [" 3 ", 3],
  ])("accepts %s", (text, replicas) => expect(parseReplicas(text)).toEqual({ ok: true, replicas }));
  it.each(["", "-1", "17", "2.5", "x"])("refuses %s", (text) => expect(parseReplicas(text).ok).toBe(false));
});

describe("ScalingPanel", () => {
  it("shows desired and ready replicas and scales up by one", async () => {
    const fake = fakeScaling();
    const root = mount(fake.transport);
    await vi.waitFor(() => expect(root.querySelector("[data-figure='desired']")?.textContent).toBe("2"));
    expect(root.textContent).toContain("2 of 2 ready");
    root.querySelector<HTMLButtonElement>("button[aria-label='Add an instance of backend']")!.click();
    await vi.waitFor(() => expect(root.querySelector("[data-figure='desired']")?.textContent).toBe("3"));
    expect(fake.calls).toEqual([3]);
  });

  it("says who owns scaling when control does not", async () => {
    const fake = fakeScaling({ refuse: new ConnectError("Kubernetes owns scaling here: run `kubectl scale deployment/backend --replicas=N`", Code.FailedPrecondition) });
    const root = mount(fake.transport);
    await vi.waitFor(() => expect(root.textContent).toContain("Kubernetes owns scaling here"));
    expect(root.querySelector("form")).toBeNull();
  });

  it("is read-only without the admin role", async () => {
    const fake = fakeScaling();
    const root = mount(fake.transport, false);
    await vi.waitFor(() => expect(root.querySelector("[data-figure='desired']")?.textContent).toBe("2"));
    expect(root.textContent).toContain("needs the admin role");
    expect(root.querySelector<HTMLFieldSetElement>("form fieldset")?.disabled).toBe(true);
  });
});
