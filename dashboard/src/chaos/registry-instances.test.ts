import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { InstanceSchema, WatchInstancesResponseSchema } from "../../../gen/mesh/control/v1/registry_pb.ts";
import { applyRegistryEvent, targetsOf } from "./registry-instances.ts";

const instance = (id: string, service = "backend") => create(InstanceSchema, { id, service });
const snapshot = (...ids: string[]) =>
  create(WatchInstancesResponseSchema, { event: { case: "snapshot", value: { instances: ids.map((id) => instance(id)) } } });

describe("applyRegistryEvent", () => {
  it("replaces everything on a snapshot, adds on upsert, drops on removal", () => {
    let state = applyRegistryEvent(new Map([["old-1", instance("old-1")]]), snapshot("backend-1", "backend-2"));
    expect([...state.keys()]).toEqual(["backend-1", "backend-2"]);
    state = applyRegistryEvent(state, create(WatchInstancesResponseSchema, { event: { case: "instanceUpserted", value: instance("backend-3") } }));
    expect([...state.keys()]).toEqual(["backend-1", "backend-2", "backend-3"]);
    state = applyRegistryEvent(state, create(WatchInstancesResponseSchema, { event: { case: "instanceRemoved", value: "backend-1" } }));
    expect([...state.keys()]).toEqual(["backend-2", "backend-3"]);
  });

  it("keeps the same map for events that change no instance", () => {
    const state = applyRegistryEvent(new Map(), snapshot("backend-1"));
    expect(applyRegistryEvent(state, create(WatchInstancesResponseSchema, { event: { case: "breakerReset", value: "backend-1" } }))).toBe(state);
    expect(applyRegistryEvent(state, create(WatchInstancesResponseSchema, { event: { case: "instanceRemoved", value: "nope" } }))).toBe(state);
  });
});

describe("targetsOf", () => {
  it("sorts by service then id, numbers in order", () => {
    const state = new Map([instance("backend-10"), instance("backend-2"), instance("gateway-1", "gateway")].map((i) => [i.id, i]));
    const { instances, services } = targetsOf(state);
    expect(instances.map((i) => i.id)).toEqual(["backend-2", "backend-10", "gateway-1"]);
    expect(services).toEqual(["backend", "gateway"]);
  });
});
