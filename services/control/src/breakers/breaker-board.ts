import { clone, create } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { BreakerState, InstanceBreakerSchema, type InstanceBreaker } from "../../../../gen/mesh/control/v1/breaker_pb.ts";
import type { RegistryState } from "../registry/registry-state.ts";

export interface BreakerBoard {
  /** Replaces everything `gatewayId` reported before. */
  report(gatewayId: string, breakers: readonly InstanceBreaker[], now: number): void;
  /**
   * The mesh-wide view: the latest fresh report of each gateway for each registered instance, with
   * operator isolations shown as ISOLATED.
   */
  list(service: string, now: number): InstanceBreaker[];
  /** Calls `listener` after each report. Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

/**
 * Gateways' breaker reports, kept in memory for `staleAfterMs` (a gateway that stops reporting drops out of the
 * view). Reports about instances no longer registered are left out.
 */
export function createBreakerBoard(registry: RegistryState, options: { staleAfterMs?: number } = {}): BreakerBoard {
  const staleAfterMs = options.staleAfterMs ?? 30_000;
  const reports = new Map<string, { at: number; breakers: InstanceBreaker[] }>();
  const listeners = new Set<() => void>();
  return {
    report(gatewayId, breakers, now) {
      reports.set(gatewayId, { at: now, breakers: breakers.map((b) => clone(InstanceBreakerSchema, { ...b, gatewayId })) });
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    list(service, now) {
      const out: InstanceBreaker[] = [];
      for (const [gatewayId, { at, breakers }] of reports) {
        if (now - at > staleAfterMs) {
          reports.delete(gatewayId);
          continue;
        }
        for (const breaker of breakers) {
          const instance = registry.get(breaker.instanceId);
          if (!instance || (service !== "" && instance.service !== service)) continue;
          const isolated = instance.isolatedUntil !== undefined && timestampMs(instance.isolatedUntil) > now;
          out.push(create(InstanceBreakerSchema, { ...breaker, service: instance.service, state: isolated ? BreakerState.ISOLATED : breaker.state }));
        }
      }
      // Isolated instances appear even before any gateway has reported on them.
      for (const instance of registry.list(service)) {
        const isolated = instance.isolatedUntil !== undefined && timestampMs(instance.isolatedUntil) > now;
        if (isolated && !out.some((b) => b.instanceId === instance.id)) {
          out.push(create(InstanceBreakerSchema, { instanceId: instance.id, service: instance.service, state: BreakerState.ISOLATED }));
        }
      }
      return out.sort((a, b) => a.service.localeCompare(b.service) || a.instanceId.localeCompare(b.instanceId) || a.gatewayId.localeCompare(b.gatewayId));
    },
  };
}
