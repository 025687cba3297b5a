import { randomUUID } from "node:crypto";
import { clone, create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import {
  InstanceSchema,
  ServingState,
  WatchInstancesResponseSchema,
  type Instance,
  type WatchInstancesResponse,
} from "../../../../gen/mesh/control/v1/registry_pb.ts";
import { ServicePolicySchema, type ServicePolicy } from "../../../../gen/mesh/control/v1/policy_pb.ts";

export interface RegistryStateOptions {
  /** Events kept for watchers that resume after a reconnect. @default 1000 */
  historySize?: number;
  /**
   * The revision before the first change. Control starts it from the clock, so revisions of an earlier
   * incarnation are never mistaken for this one's: a watcher resuming after a control restart gets a snapshot.
   * @default 0
   */
  initialRevision?: number;
}

export type RegistryChange = WatchInstancesResponse;

interface Entry {
  instance: Instance;
  leaseId: string;
  ttlMs: number;
  expiresAt: number;
}

export interface RegistryState {
  /** The revision of the latest change; `initialRevision` before any. */
  readonly revision: number;
  /** Registers or re-registers an instance; a new lease replaces the old one. */
  register(instance: Instance, ttlMs: number, now: number): { instance: Instance; leaseId: string };
  /** Renews a lease; undefined when the instance or lease is unknown. */
  heartbeat(instanceId: string, leaseId: string, now: number): { expiresAt: number } | undefined;
  /** Removes an instance; false when the instance or lease is unknown. */
  deregister(instanceId: string, leaseId: string): boolean;
  /** Removes every instance whose lease has run out; returns their ids. */
  expire(now: number): string[];
  /** Records a health-check verdict; a change of state is a change of the registry. */
  setServingState(instanceId: string, state: ServingState): boolean;
  get(instanceId: string): Instance | undefined;
  /** Instances of a service (or all), by service and id. */
  list(service?: string): Instance[];
  /** Takes an instance out of every gateway's rotation until `untilMs`; false when it is unknown. */
  isolate(instanceId: string, untilMs: number): boolean;
  /** Ends an isolation and tells gateways to close the instance's breakers; false when it is unknown. */
  resetBreaker(instanceId: string): boolean;
  /** Records a service's new policy; watchers receive it as a change. */
  upsertPolicy(policy: ServicePolicy): void;
  /** Every service's current policy, by service. */
  policies(): ServicePolicy[];
  /** Changes after `revision`, or undefined when the history no longer reaches back that far. */
  changesAfter(revision: number): RegistryChange[] | undefined;
  /** Called with every change, in order. Returns the unsubscribe function. */
  subscribe(listener: (change: RegistryChange) => void): () => void;
}

/**
 * The registry as a pure state machine over the instances, driven by the caller's clock. Every change gets
 * the next revision and is kept in a bounded history, so a watcher that reconnects with the last revision it
 * saw receives exactly what it missed.
 */
export function createRegistryState(options: RegistryStateOptions = {}): RegistryState {
  const historySize = options.historySize ?? 1000;
  const entries = new Map<string, Entry>();
  const history: RegistryChange[] = [];
  const listeners = new Set<(change: RegistryChange) => void>();
  const policies = new Map<string, ServicePolicy>();
  let revision = options.initialRevision ?? 0;

  function record(event: RegistryChange["event"]): void {
    revision++;
    const change = create(WatchInstancesResponseSchema, { revision: BigInt(revision), event });
    history.push(change);
    if (history.length > historySize) history.shift();
    for (const listener of listeners) listener(change);
  }

  function remove(id: string): void {
    entries.delete(id);
    record({ case: "instanceRemoved", value: id });
  }

  return {
    get revision() {
      return revision;
    },
    register(instance, ttlMs, now) {
      const previous = entries.get(instance.id);
      const stored = clone(InstanceSchema, instance);
      stored.registerTime = previous?.instance.registerTime ?? timestampFromMs(now);
      // A new registration is not trusted until a health check passes, unless it is a renewal.
      stored.state = previous?.instance.state ?? ServingState.UNSPECIFIED;
      stored.leaseExpireTime = timestampFromMs(now + ttlMs);
      const leaseId = randomUUID();
      entries.set(stored.id, { instance: stored, leaseId, ttlMs, expiresAt: now + ttlMs });
      record({ case: "instanceUpserted", value: clone(InstanceSchema, stored) });
      return { instance: stored, leaseId };
    },
    heartbeat(instanceId, leaseId, now) {
      const entry = entries.get(instanceId);
      if (!entry || entry.leaseId !== leaseId) return undefined;
      entry.expiresAt = now + entry.ttlMs;
      // Lease renewals are not changes: watchers only hear about membership and state.
      entry.instance.leaseExpireTime = timestampFromMs(entry.expiresAt);
      return { expiresAt: entry.expiresAt };
    },
    deregister(instanceId, leaseId) {
      const entry = entries.get(instanceId);
      if (!entry || entry.leaseId !== leaseId) return false;
      remove(instanceId);
      return true;
    },
    expire(now) {
      const expired = [...entries.values()].filter((e) => e.expiresAt <= now).map((e) => e.instance.id);
      for (const id of expired) remove(id);
      for (const entry of entries.values()) {
        const until = entry.instance.isolatedUntil;
        if (until && timestampMs(until) <= now) {
          entry.instance.isolatedUntil = undefined;
          record({ case: "instanceUpserted", value: clone(InstanceSchema, entry.instance) });
        }
      }
      return expired;
    },
    isolate(instanceId, untilMs) {
      const entry = entries.get(instanceId);
      if (!entry) return false;
      entry.instance.isolatedUntil = timestampFromMs(untilMs);
      record({ case: "instanceUpserted", value: clone(InstanceSchema, entry.instance) });
      return true;
    },
    resetBreaker(instanceId) {
      const entry = entries.get(instanceId);
      if (!entry) return false;
      if (entry.instance.isolatedUntil) {
        entry.instance.isolatedUntil = undefined;
        record({ case: "instanceUpserted", value: clone(InstanceSchema, entry.instance) });
      }
      record({ case: "breakerReset", value: instanceId });
      return true;
    },
    setServingState(instanceId, state) {
      const entry = entries.get(instanceId);
      if (!entry || entry.instance.state === state) return false;
      entry.instance.state = state;
      record({ case: "instanceUpserted", value: clone(InstanceSchema, entry.instance) });
      return true;
    },
    upsertPolicy(policy) {
      const stored = clone(ServicePolicySchema, policy);
      policies.set(stored.service, stored);
      record({ case: "policyUpdated", value: clone(ServicePolicySchema, stored) });
    },
    policies: () => [...policies.values()].sort((a, b) => a.service.localeCompare(b.service)),
    get: (instanceId) => entries.get(instanceId)?.instance,
    list(service) {
      return [...entries.values()]
        .map((e) => e.instance)
        .filter((i) => service === undefined || service === "" || i.service === service)
        .sort((a, b) => a.service.localeCompare(b.service) || a.id.localeCompare(b.id));
    },
    changesAfter(after) {
      if (after === revision) return [];
      if (after > revision) return undefined;
      const oldest = history.length === 0 ? revision + 1 : Number(history[0]!.revision);
      if (after + 1 < oldest) return undefined;
      return history.filter((c) => Number(c.revision) > after);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
