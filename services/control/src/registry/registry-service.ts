import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  RegistryService,
  RegistrySnapshotSchema,
  WatchInstancesResponseSchema,
  type WatchInstancesResponse,
} from "../../../../gen/mesh/control/v1/registry_pb.ts";
import { invalidArgument } from "../../../../lib/errors/connect-errors.ts";
import type { RegistryState } from "./registry-state.ts";
import { namePattern, validateInstance } from "./validate-instance.ts";

export interface RegistryServiceDeps {
  state: RegistryState;
  /** @default Date.now */
  now?: () => number;
  /** Aborts when control shuts down: watch streams end then. */
  stop?: AbortSignal;
  /** Changes a watch may hold unread before it is ended (the client resumes). @default 10000 */
  maxBacklog?: number;
}

const defaultTtlMs = 15_000;

function checkServiceFilter(service: string): void {
  if (service !== "" && !namePattern.test(service)) throw invalidArgument("service", "must be a service name such as backend");
}

/** mesh.control.v1.RegistryService over a RegistryState. */
export function createRegistryService(deps: RegistryServiceDeps): ServiceImpl<typeof RegistryService> {
  const { state } = deps;
  const now = deps.now ?? Date.now;
  const maxBacklog = deps.maxBacklog ?? 10_000;

  return {
    register(req) {
      validateInstance(req.instance);
      const ttlMs = req.leaseTtl === undefined ? defaultTtlMs : durationMs(req.leaseTtl);
      if (!Number.isFinite(ttlMs) || ttlMs < 1000 || ttlMs > 300_000) throw invalidArgument("lease_ttl", "must be between 1s and 300s");
      const { instance, leaseId } = state.register(req.instance, ttlMs, now());
      return { instance, leaseId, heartbeatInterval: durationFromMs(Math.floor(ttlMs / 3)) };
    },
    heartbeat(req) {
      if (req.instanceId === "") throw invalidArgument("instance_id", "is required");
      if (req.leaseId === "") throw invalidArgument("lease_id", "is required");
      const renewed = state.heartbeat(req.instanceId, req.leaseId, now());
      if (!renewed) {
        throw new ConnectError(`no lease ${req.leaseId} for instance ${JSON.stringify(req.instanceId)}: register again`, Code.NotFound);
      }
      return { leaseExpireTime: timestampFromMs(renewed.expiresAt) };
    },
    deregister(req) {
      if (req.instanceId === "") throw invalidArgument("instance_id", "is required");
      if (req.leaseId === "") throw invalidArgument("lease_id", "is required");
      if (state.get(req.instanceId) !== undefined && !state.deregister(req.instanceId, req.leaseId)) {
        throw new ConnectError("the instance holds another lease: it registered again since", Code.FailedPrecondition);
      }
      return {};
    },
    listInstances(req) {
      checkServiceFilter(req.service);
      return { instances: state.list(req.service), revision: BigInt(state.revision) };
    },
    async *watchInstances(req, ctx) {
      checkServiceFilter(req.service);
      if (req.afterRevision < 0n) throw invalidArgument("after_revision", "must not be negative");
      const signal = deps.stop ? AbortSignal.any([ctx.signal, deps.stop]) : ctx.signal;
      const pending: WatchInstancesResponse[] = [];
      let wake: (() => void) | undefined;
      let overflow = false;
      const unsubscribe = state.subscribe((change) => {
        if (pending.length >= maxBacklog) overflow = true;
        else pending.push(change);
        wake?.();
      });
      const onAbort = () => wake?.();
      signal.addEventListener("abort", onAbort);
      // Ids sent on this stream, so removals (which carry only an id) can be filtered by service.
      const known = new Set<string>();
      const relevant = (change: WatchInstancesResponse): boolean => {
        if (req.service === "") return true;
        const event = change.event;
        if (event.case === "instanceUpserted") {
          if (event.value.service !== req.service) return false;
          known.add(event.value.id);
          return true;
        }
        if (event.case === "instanceRemoved") return known.delete(event.value);
        if (event.case === "policyUpdated") return event.value.service === req.service;
        if (event.case === "breakerReset") return known.has(event.value);
        return true;
      };
      try {
        // Taken synchronously with the snapshot or replay: later changes are in `pending`.
        const sentUpTo = state.revision;
        const replay = req.afterRevision === 0n ? undefined : state.changesAfter(Number(req.afterRevision));
        if (replay === undefined) {
          const instances = state.list(req.service);
          for (const i of instances) known.add(i.id);
          yield create(WatchInstancesResponseSchema, {
            revision: BigInt(state.revision),
            event: {
              case: "snapshot",
              value: create(RegistrySnapshotSchema, {
                instances,
                policies: state.policies().filter((p) => req.service === "" || p.service === req.service),
              }),
            },
          });
        } else {
          for (const change of replay) if (relevant(change)) yield change;
        }
        while (!signal.aborted) {
          if (overflow) throw new ConnectError("the watcher fell too far behind; resume from the last revision", Code.ResourceExhausted);
          const change = pending.shift();
          if (change === undefined) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          if (Number(change.revision) <= sentUpTo) continue;
          if (relevant(change)) yield change;
        }
      } finally {
        unsubscribe();
        signal.removeEventListener("abort", onAbort);
      }
    },
  };
}
