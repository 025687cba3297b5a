import type { ServicePolicy } from "../../../gen/mesh/control/v1/policy_pb.ts";
import type { Instance, WatchInstancesResponse } from "../../../gen/mesh/control/v1/registry_pb.ts";

/** The registry as the page knows it from RegistryService.WatchInstances. */
export interface RegistryState {
  revision: bigint;
  instances: ReadonlyMap<string, Instance>;
  policies: ReadonlyMap<string, ServicePolicy>;
}

export const emptyRegistry: RegistryState = { revision: 0n, instances: new Map(), policies: new Map() };

/** The state after one event of the watch stream: a snapshot replaces everything, changes apply in order. */
export function applyRegistryEvent(state: RegistryState, event: WatchInstancesResponse): RegistryState {
  const e = event.event;
  switch (e.case) {
    case "snapshot":
      return {
        revision: event.revision,
        instances: new Map(e.value.instances.map((i) => [i.id, i])),
        policies: new Map(e.value.policies.map((p) => [p.service, p])),
      };
    case "instanceUpserted": {
      const instances = new Map(state.instances);
      instances.set(e.value.id, e.value);
      return { ...state, revision: event.revision, instances };
    }
    case "instanceRemoved": {
      const instances = new Map(state.instances);
      instances.delete(e.value);
      return { ...state, revision: event.revision, instances };
    }
    case "policyUpdated": {
      const policies = new Map(state.policies);
      policies.set(e.value.service, e.value);
      return { ...state, revision: event.revision, policies };
    }
    default:
      return { ...state, revision: event.revision };
  }
}

/** Instances grouped by service, services and instances sorted by name. */
export function instancesByService(state: RegistryState): Array<[service: string, instances: Instance[]]> {
  const groups = new Map<string, Instance[]>();
  for (const instance of state.instances.values()) {
    const list = groups.get(instance.service) ?? [];
    list.push(instance);
    groups.set(instance.service, list);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, list]) => [service, list.sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }))]);
}
