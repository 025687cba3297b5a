import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { LoadBalancing, ServicePolicySchema } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import { InstanceSchema, RegistrySnapshotSchema, ServingState, WatchInstancesResponseSchema, type WatchInstancesResponse } from "../../../../gen/mesh/control/v1/registry_pb.ts";
import { applyWatchEvent, emptyView, type RegistryView } from "./registry-view.ts";

const instance = (id: string, state: ServingState = ServingState.SERVING, extra: Record<string, unknown> = {}) =>
  create(InstanceSchema, { id, service: "backend", address: `http://127.0.0.1:${id.length}`, rpcServices: ["mesh.data.v1.DataService"], state, ...extra });
const event = (revision: number, e: WatchInstancesResponse["event"]) => create(WatchInstancesResponseSchema, { revision: BigInt(revision), event: e });

function replay(...events: WatchInstancesResponse[]): RegistryView {
  let view = emptyView;
  for (const e of events) view = applyWatchEvent(view, e).view;
  return view;
}

describe("applyWatchEvent", () => {
  const snapshot = event(10, {
    case: "snapshot",
    value: create(RegistrySnapshotSchema, {
      instances: [instance("b1"), instance("b2", ServingState.NOT_SERVING)],
      policies: [create(ServicePolicySchema, { service: "backend", loadBalancing: LoadBalancing.PEAK_EWMA })],
    }),
  });

  it.each([
    ["a snapshot replaces everything", [snapshot], { revision: 10n, ids: ["b1", "b2"], serving: ["b1"], policy: LoadBalancing.PEAK_EWMA }],
    ["an upsert adds an instance", [snapshot, event(11, { case: "instanceUpserted", value: instance("b3") })], { revision: 11n, ids: ["b1", "b2", "b3"], serving: ["b1", "b3"], policy: LoadBalancing.PEAK_EWMA }],
    ["an upsert changes serving state", [snapshot, event(11, { case: "instanceUpserted", value: instance("b2") })], { revision: 11n, ids: ["b1", "b2"], serving: ["b1", "b2"], policy: LoadBalancing.PEAK_EWMA }],
    ["a removal drops it", [snapshot, event(11, { case: "instanceRemoved", value: "b1" })], { revision: 11n, ids: ["b2"], serving: [], policy: LoadBalancing.PEAK_EWMA }],
    [
      "a policy update replaces the service's policy",
      [snapshot, event(11, { case: "policyUpdated", value: create(ServicePolicySchema, { service: "backend", loadBalancing: LoadBalancing.LEAST_REQUEST }) })],
      { revision: 11n, ids: ["b1", "b2"], serving: ["b1"], policy: LoadBalancing.LEAST_REQUEST },
    ],
    ["a breaker reset moves only the revision", [snapshot, event(12, { case: "breakerReset", value: "b1" })], { revision: 12n, ids: ["b1", "b2"], serving: ["b1"], policy: LoadBalancing.PEAK_EWMA }],
  ])("%s", (_label, events, expected) => {
    const view = replay(...events);
    expect(view.revision).toBe(expected.revision);
    expect([...view.instances.keys()].sort()).toEqual(expected.ids);
    expect([...view.instances.values()].filter((i) => i.serving).map((i) => i.id).sort()).toEqual(expected.serving);
    expect(view.policies.get("backend")?.loadBalancing).toBe(expected.policy);
  });

  it.each([
    [ServingState.SERVING, true],
    [ServingState.UNSPECIFIED, true],
    [ServingState.NOT_SERVING, false],
  ])("state %s counts as serving: %s", (state, serving) => {
    expect(replay(event(1, { case: "instanceUpserted", value: instance("x", state) })).instances.get("x")?.serving).toBe(serving);
  });

  it("keeps an operator's isolation as epoch ms", () => {
    const view = replay(event(1, { case: "instanceUpserted", value: instance("x", ServingState.SERVING, { isolatedUntil: timestampFromMs(123_000) }) }));
    expect(view.instances.get("x")?.isolatedUntilMs).toBe(123_000);
  });

  it.each([
    ["snapshot", snapshot, "snapshot"],
    ["removal", event(2, { case: "instanceRemoved", value: "b1" }), "removed"],
    ["breaker reset", event(2, { case: "breakerReset", value: "b1" }), "breaker_reset"],
    ["unknown event", event(2, { case: undefined }), undefined],
  ] as const)("reports a %s as change %s", (_label, e, kind) => {
    expect(applyWatchEvent(emptyView, e).change?.kind).toBe(kind);
  });
});
