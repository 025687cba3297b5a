import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { InstanceSchema, ServingState, WatchInstancesResponseSchema, type WatchInstancesResponse } from "../../../gen/mesh/control/v1/registry_pb.ts";
import { applyRegistryEvent, emptyRegistry, instancesByService } from "./registry-state.ts";

const instance = (id: string, service = "backend", state: ServingState = ServingState.SERVING) => create(InstanceSchema, { id, service, state });
const event = (revision: bigint, e: WatchInstancesResponse["event"]) => create(WatchInstancesResponseSchema, { revision, event: e });

describe("applyRegistryEvent", () => {
  it("a snapshot replaces everything; upserts and removals apply in order", () => {
    let state = applyRegistryEvent(emptyRegistry, event(1n, { case: "snapshot", value: { $typeName: "mesh.control.v1.RegistrySnapshot", instances: [instance("backend-1"), instance("gone")], policies: [] } }));
    expect([...state.instances.keys()]).toEqual(["backend-1", "gone"]);
    state = applyRegistryEvent(state, event(2n, { case: "instanceUpserted", value: instance("backend-1", "backend", ServingState.NOT_SERVING) }));
    state = applyRegistryEvent(state, event(3n, { case: "instanceRemoved", value: "gone" }));
    state = applyRegistryEvent(state, event(4n, { case: "instanceUpserted", value: instance("backend-2") }));
    expect(state.revision).toBe(4n);
    expect([...state.instances.values()].map((i) => [i.id, i.state])).toEqual([
      ["backend-1", ServingState.NOT_SERVING],
      ["backend-2", ServingState.SERVING],
    ]);
    state = applyRegistryEvent(state, event(5n, { case: "snapshot", value: { $typeName: "mesh.control.v1.RegistrySnapshot", instances: [instance("backend-9")], policies: [] } }));
    expect([...state.instances.keys()]).toEqual(["backend-9"]);
  });

  it("does not change the state it is given", () => {
    const before = applyRegistryEvent(emptyRegistry, event(1n, { case: "instanceUpserted", value: instance("a") }));
    applyRegistryEvent(before, event(2n, { case: "instanceRemoved", value: "a" }));
    expect(before.instances.has("a")).toBe(true);
  });
});

describe("instancesByService", () => {
  it("groups by service, services by name and instances in natural order", () => {
    let state = emptyRegistry;
    for (const [i, inst] of [instance("backend-10"), instance("backend-2"), instance("api-1", "api"), instance("backend-1")].entries()) {
      state = applyRegistryEvent(state, event(BigInt(i + 1), { case: "instanceUpserted", value: inst }));
    }
    expect(instancesByService(state).map(([s, list]) => [s, list.map((i) => i.id)])).toEqual([
      ["api", ["api-1"]],
      ["backend", ["backend-1", "backend-2", "backend-10"]],
    ]);
  });
});
