import type { Instance, WatchInstancesResponse } from "../../../gen/mesh/control/v1/registry_pb.ts";

/**
 * Applies one WatchInstances event to the instances known so far (by id): a snapshot replaces them, an
 * upsert adds or replaces one, a removal drops one; other events leave them as they are. Never mutates.
 */
export function applyRegistryEvent(instances: ReadonlyMap<string, Instance>, event: WatchInstancesResponse): ReadonlyMap<string, Instance> {
  switch (event.event.case) {
    case "snapshot":
      return new Map(event.event.value.instances.map((i) => [i.id, i]));
    case "instanceUpserted": {
      const next = new Map(instances);
      next.set(event.event.value.id, event.event.value);
      return next;
    }
    case "instanceRemoved": {
      if (!instances.has(event.event.value)) return instances;
      const next = new Map(instances);
      next.delete(event.event.value);
      return next;
    }
    default:
      return instances;
  }
}

/** Instances sorted by service then id, and the services they belong to. */
export function targetsOf(instances: ReadonlyMap<string, Instance>): { instances: Instance[]; services: string[] } {
  const sorted = [...instances.values()].sort((a, b) => a.service.localeCompare(b.service) || a.id.localeCompare(b.id, undefined, { numeric: true }));
  return { instances: sorted, services: [...new Set(sorted.map((i) => i.service))] };
}
