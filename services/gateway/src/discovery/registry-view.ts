import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { ServicePolicy } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import { ServingState, type Instance, type WatchInstancesResponse } from "../../../../gen/mesh/control/v1/registry_pb.ts";

/** What the gateway needs of a registered instance. */
export interface InstanceInfo {
  readonly id: string;
  /** The mesh service, such as "backend": its policy applies. */
  readonly service: string;
  readonly address: string;
  /** Fully-qualified RPC services it serves. */
  readonly rpcServices: ReadonlySet<string>;
  /** False when control's health checks (or the instance itself) say NOT_SERVING. */
  readonly serving: boolean;
  /** Epoch ms until which an operator isolates it; undefined when not isolated. */
  readonly isolatedUntilMs: number | undefined;
}

/** The registry as the gateway last heard it. */
export interface RegistryView {
  readonly revision: bigint;
  readonly instances: ReadonlyMap<string, InstanceInfo>;
  readonly policies: ReadonlyMap<string, ServicePolicy>;
}

/** What one event changes, for the directory to apply. */
export type RegistryChange =
  | { readonly kind: "snapshot"; readonly view: RegistryView }
  | { readonly kind: "upserted"; readonly instance: InstanceInfo }
  | { readonly kind: "removed"; readonly id: string }
  | { readonly kind: "policy"; readonly policy: ServicePolicy }
  | { readonly kind: "breaker_reset"; readonly id: string };

export const emptyView: RegistryView = { revision: 0n, instances: new Map(), policies: new Map() };

export function instanceInfo(instance: Instance): InstanceInfo {
  return {
    id: instance.id,
    service: instance.service,
    address: instance.address,
    rpcServices: new Set(instance.rpcServices),
    // Not checked yet counts as serving: an instance registers only once it listens and its checks pass.
    serving: instance.state !== ServingState.NOT_SERVING,
    isolatedUntilMs: instance.isolatedUntil === undefined ? undefined : timestampMs(instance.isolatedUntil),
  };
}

/**
 * Applies one event of the WatchInstances stream to the view: a pure step, so that the order and content
 * of changes can be tested without a control plane. Returns the new view and what changed.
 */
export function applyWatchEvent(view: RegistryView, event: WatchInstancesResponse): { view: RegistryView; change: RegistryChange | undefined } {
  const revision = event.revision;
  const e = event.event;
  switch (e.case) {
    case "snapshot": {
      const instances = new Map(e.value.instances.map((i) => [i.id, instanceInfo(i)] as const));
      const policies = new Map(e.value.policies.map((p) => [p.service, p] as const));
      const next = { revision, instances, policies };
      return { view: next, change: { kind: "snapshot", view: next } };
    }
    case "instanceUpserted": {
      const instance = instanceInfo(e.value);
      const instances = new Map(view.instances).set(instance.id, instance);
      return { view: { ...view, revision, instances }, change: { kind: "upserted", instance } };
    }
    case "instanceRemoved": {
      const instances = new Map(view.instances);
      instances.delete(e.value);
      return { view: { ...view, revision, instances }, change: { kind: "removed", id: e.value } };
    }
    case "policyUpdated": {
      const policies = new Map(view.policies).set(e.value.service, e.value);
      return { view: { ...view, revision, policies }, change: { kind: "policy", policy: e.value } };
    }
    case "breakerReset":
      return { view: { ...view, revision }, change: { kind: "breaker_reset", id: e.value } };
    default:
      // An event this gateway does not know yet: keep the revision, change nothing.
      return { view: { ...view, revision }, change: undefined };
  }
}
