import type { ServicePolicy } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import { chooseInstance } from "../../../../lib/balancing/choose-instance.ts";
import { createRetryBudget, type RetryBudget } from "../../../../lib/resilience/retry-budget.ts";
import type { InstanceInfo } from "../discovery/registry-view.ts";
import { createEndpoint, type BreakerStateName, type Endpoint } from "./endpoint.ts";
import { resolvePolicy, type ResolvedPolicy } from "./resolve-policy.ts";

export interface PoolHooks {
  onBreakerChange(pool: UpstreamPool, endpoint: Endpoint, from: BreakerStateName, to: BreakerStateName): void;
  onRetired(pool: UpstreamPool, endpoint: Endpoint): void;
  /** A new instance, its breaker closed. */
  onAdded?(pool: UpstreamPool, endpoint: Endpoint): void;
}

export interface UpstreamPoolOptions {
  /** The mesh service, such as "backend": the policy of that name applies. */
  service: string;
  maxInFlight: number;
  hooks: PoolHooks;
  /** @default Date.now */
  now?: () => number;
  /** @default Math.random */
  random?: () => number;
}

/**
 * The instances of one mesh service, with the service's policy (balancing, retries, breakers, timeouts) and
 * retry budget. Picking is a pure balancer over the instances eligible now.
 */
export interface UpstreamPool {
  readonly service: string;
  readonly policy: ResolvedPolicy;
  readonly budget: RetryBudget;
  readonly endpoints: ReadonlyMap<string, Endpoint>;
  /** Whether any instance (in any state) serves this RPC service. */
  serves(rpcService: string): boolean;
  /** An instance for a call to `rpcService`, none of `exclude`; undefined when none is eligible. */
  pick(rpcService: string, exclude?: ReadonlySet<Endpoint>): Endpoint | undefined;
  /** Whether `pick` would find an instance (without moving the round-robin cursor). */
  canPick(rpcService: string, exclude?: ReadonlySet<Endpoint>): boolean;
  /** Adds an instance or updates it; a new address replaces its endpoint. */
  upsert(info: InstanceInfo): void;
  remove(id: string): void;
  /** Replaces every instance: those not in `infos` are retired. */
  replaceAll(infos: Iterable<InstanceInfo>): void;
  setPolicy(policy: ServicePolicy | undefined): void;
  /** Closes an instance's breaker (an operator's reset). */
  resetBreaker(id: string): boolean;
  close(): void;
}

export function createUpstreamPool(options: UpstreamPoolOptions): UpstreamPool {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const endpoints = new Map<string, Endpoint>();
  let sorted: Endpoint[] = [];
  let policy = resolvePolicy(undefined, options.service);
  const budget = createRetryBudget({ ratio: policy.budgetRatio, minPerSecond: policy.budgetMinPerSecond, now });
  let cursor = 0;

  const resort = () => {
    sorted = [...endpoints.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  };

  /** Room for one more ejection besides `endpoint`: at most max_ejection_ratio of the instances, and never all. */
  function mayEject(endpoint: Endpoint): boolean {
    let inRotation = 0;
    let ejected = 0;
    for (const e of sorted) {
      if (e.retired || !e.info.serving || e.breakerState === "isolated") continue;
      inRotation++;
      if (e !== endpoint && e.ejected()) ejected++;
    }
    const cap = Math.min(Math.floor(policy.breaker.maxEjectionRatio * inRotation), inRotation - 1);
    return ejected + 1 <= cap;
  }

  function add(info: InstanceInfo): void {
    const endpoint = createEndpoint(info, policy, {
      maxInFlight: options.maxInFlight,
      mayEject,
      now,
      onBreakerChange: (e, from, to) => options.hooks.onBreakerChange(pool, e, from, to),
    });
    endpoints.set(info.id, endpoint);
    options.hooks.onAdded?.(pool, endpoint);
  }

  function retire(endpoint: Endpoint): void {
    endpoint.retire();
    endpoints.delete(endpoint.id);
    options.hooks.onRetired(pool, endpoint);
  }

  const pool: UpstreamPool = {
    service: options.service,
    get policy() {
      return policy;
    },
    budget,
    endpoints,
    serves(rpcService) {
      for (const e of sorted) if (e.info.rpcServices.has(rpcService)) return true;
      return false;
    },
    pick(rpcService, exclude) {
      const at = now();
      const candidates: Endpoint[] = [];
      for (const e of sorted) {
        if (exclude?.has(e) || !e.info.rpcServices.has(rpcService) || !e.eligible(at)) continue;
        candidates.push(e);
      }
      if (candidates.length === 0) return undefined;
      const index = chooseInstance({ algorithm: policy.balancing, candidates, cursor: cursor++, nowMs: at, random });
      if (cursor >= Number.MAX_SAFE_INTEGER) cursor = 0;
      return candidates[index];
    },
    canPick(rpcService, exclude) {
      const at = now();
      for (const e of sorted) if (!exclude?.has(e) && e.info.rpcServices.has(rpcService) && e.eligible(at)) return true;
      return false;
    },
    upsert(info) {
      const existing = endpoints.get(info.id);
      if (existing && existing.info.address === info.address) {
        existing.update(info);
        return;
      }
      if (existing) retire(existing);
      add(info);
      resort();
    },
    remove(id) {
      const existing = endpoints.get(id);
      if (!existing) return;
      retire(existing);
      resort();
    },
    replaceAll(infos) {
      const keep = new Set<string>();
      for (const info of infos) {
        keep.add(info.id);
        pool.upsert(info);
      }
      for (const endpoint of [...endpoints.values()]) if (!keep.has(endpoint.id)) retire(endpoint);
      resort();
    },
    setPolicy(next) {
      policy = resolvePolicy(next, options.service);
      budget.configure(policy.budgetRatio, policy.budgetMinPerSecond);
      for (const endpoint of endpoints.values()) endpoint.configure(policy);
    },
    resetBreaker(id) {
      const endpoint = endpoints.get(id);
      endpoint?.configure(policy, true);
      return endpoint !== undefined;
    },
    close() {
      for (const endpoint of [...endpoints.values()]) retire(endpoint);
      resort();
    },
  };
  return pool;
}
