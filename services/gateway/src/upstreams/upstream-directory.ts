import type { ServicePolicy } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import type { InstanceInfo, RegistryChange } from "../discovery/registry-view.ts";
import { createUpstreamPool, type PoolHooks, type UpstreamPool } from "./upstream-pool.ts";

/** Instances from configuration: the fallback while the registry is unknown, and for services it lacks. */
export interface StaticGroup {
  /** The mesh service whose policy applies, such as "backend" or "control". */
  readonly service: string;
  readonly urls: readonly string[];
  /** The RPC services these instances serve. */
  readonly rpcServices: readonly string[];
}

export interface UpstreamDirectoryOptions {
  statics: readonly StaticGroup[];
  maxInFlight: number;
  hooks: PoolHooks;
  now?: () => number;
  random?: () => number;
}

/** Where calls to each RPC service go. */
export interface UpstreamDirectory {
  /**
   * The pool for calls to `rpcService`: the registry's instances of it once the registry has answered and
   * knows any, else the configured static ones; undefined when nobody serves it.
   */
  poolFor(rpcService: string): UpstreamPool | undefined;
  /** Applies a change from the registry watch. */
  apply(change: RegistryChange): void;
  /** Every pool, registry and static. */
  pools(): UpstreamPool[];
  close(): void;
}

export function createUpstreamDirectory(options: UpstreamDirectoryOptions): UpstreamDirectory {
  const policies = new Map<string, ServicePolicy>();
  const discovered = new Map<string, UpstreamPool>();
  const statics = new Map<string, UpstreamPool>();
  /** Which discovered pool holds each instance id. */
  const home = new Map<string, UpstreamPool>();
  /** rpc service → pool, rebuilt when instances change. */
  let index = new Map<string, UpstreamPool>();

  const newPool = (service: string) => {
    const pool = createUpstreamPool({ service, maxInFlight: options.maxInFlight, hooks: options.hooks, now: options.now, random: options.random });
    pool.setPolicy(policies.get(service));
    return pool;
  };

  for (const group of options.statics) {
    const pool = statics.get(group.service) ?? newPool(group.service);
    statics.set(group.service, pool);
    for (const url of group.urls) {
      const existing = pool.endpoints.get(url);
      const rpcServices = new Set([...(existing?.info.rpcServices ?? []), ...group.rpcServices]);
      pool.upsert({ id: url, service: group.service, address: url, rpcServices, serving: true, isolatedUntilMs: undefined });
    }
  }

  function reindex(): void {
    const next = new Map<string, UpstreamPool>();
    for (const pool of statics.values()) {
      for (const endpoint of pool.endpoints.values()) for (const rpc of endpoint.info.rpcServices) next.set(rpc, pool);
    }
    // Registry instances win over static ones for the services they serve.
    for (const pool of discovered.values()) {
      for (const endpoint of pool.endpoints.values()) for (const rpc of endpoint.info.rpcServices) next.set(rpc, pool);
    }
    index = next;
  }

  function upsert(info: InstanceInfo): void {
    const previous = home.get(info.id);
    if (previous && previous.service !== info.service) previous.remove(info.id);
    let pool = discovered.get(info.service);
    if (!pool) {
      pool = newPool(info.service);
      discovered.set(info.service, pool);
    }
    pool.upsert(info);
    home.set(info.id, pool);
  }

  function setPolicy(policy: ServicePolicy): void {
    policies.set(policy.service, policy);
    discovered.get(policy.service)?.setPolicy(policy);
    statics.get(policy.service)?.setPolicy(policy);
  }

  reindex();
  return {
    poolFor: (rpcService) => index.get(rpcService),
    apply(change) {
      switch (change.kind) {
        case "snapshot": {
          for (const policy of change.view.policies.values()) setPolicy(policy);
          const byService = new Map<string, InstanceInfo[]>();
          for (const info of change.view.instances.values()) {
            const list = byService.get(info.service) ?? [];
            list.push(info);
            byService.set(info.service, list);
          }
          for (const [service, pool] of discovered) if (!byService.has(service)) pool.replaceAll([]);
          home.clear();
          for (const [service, infos] of byService) {
            let pool = discovered.get(service);
            if (!pool) {
              pool = newPool(service);
              discovered.set(service, pool);
            }
            pool.replaceAll(infos);
            for (const info of infos) home.set(info.id, pool);
          }
          break;
        }
        case "upserted":
          upsert(change.instance);
          break;
        case "removed":
          home.get(change.id)?.remove(change.id);
          home.delete(change.id);
          break;
        case "policy":
          setPolicy(change.policy);
          break;
        case "breaker_reset":
          home.get(change.id)?.resetBreaker(change.id);
          break;
      }
      reindex();
    },
    pools: () => [...discovered.values(), ...statics.values()],
    close() {
      for (const pool of [...discovered.values(), ...statics.values()]) pool.close();
    },
  };
}
