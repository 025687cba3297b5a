import { randomUUID } from "node:crypto";
import { clone, create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { FaultSchema, type Fault, type FaultService } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { ActiveFaultSchema, type ActiveFault, type FaultTarget } from "../../../../gen/mesh/control/v1/chaos_pb.ts";
import { EventType } from "../../../../gen/mesh/control/v1/events_pb.ts";
import type { Instance } from "../../../../gen/mesh/control/v1/registry_pb.ts";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import type { EventLog } from "../events/event-log.ts";
import type { RegistryState } from "../registry/registry-state.ts";

export interface ChaosControllerDeps {
  registry: RegistryState;
  /** A FaultService client for an instance address. */
  faults: (address: string) => Client<typeof FaultService>;
  events: Pick<EventLog, "append">;
  logger: Logger;
  /** @default Date.now */
  now?: () => number;
  /** How often faults are re-applied to instances that lost them (restarts). @default 2000 */
  reconcileMs?: number;
}

export interface ChaosController {
  inject(target: FaultTarget, fault: Fault, actor: string): Promise<ActiveFault>;
  list(): ActiveFault[];
  clear(id: string): Promise<ActiveFault>;
  /** One pass that re-applies active faults to instances that no longer hold them. */
  reconcile(): Promise<void>;
  stop(): void;
}

interface Tracked {
  active: ActiveFault;
  expiresAt: number;
  /** Backend fault id per instance id. */
  applied: Map<string, string>;
  timer: NodeJS.Timeout;
}

function describeTarget(target: FaultTarget): string {
  return target.target.case === "service" ? `service ${target.target.value}` : `instance ${target.target.value ?? ""}`;
}

/**
 * Carries chaos out through the backends' fault hooks: a fault on a service goes to every instance of it,
 * including instances that register later or restart while it is active (except crashes, which are applied
 * once). Backends expire their faults themselves; control forgets its record at the same moment.
 */
export function createChaosController(deps: ChaosControllerDeps): ChaosController {
  const { registry, logger } = deps;
  const now = deps.now ?? Date.now;
  const tracked = new Map<string, Tracked>();

  const targets = (target: FaultTarget): Instance[] =>
    target.target.case === "service"
      ? registry.list(target.target.value)
      : registry.list().filter((i) => target.target.case === "instanceId" && i.id === target.target.value);

  async function applyTo(entry: Tracked, instance: Instance): Promise<void> {
    const remaining = entry.expiresAt - now();
    if (remaining < 1000) return;
    const fault = clone(FaultSchema, entry.active.fault!);
    fault.id = "";
    fault.duration = durationFromMs(Math.floor(remaining));
    fault.source = `control:${entry.active.id}`;
    const res = await deps.faults(instance.address).injectFault({ fault }, { timeoutMs: 2000 });
    entry.applied.set(instance.id, res.fault!.id);
    entry.active.instanceIds = [...entry.applied.keys()].sort();
  }

  function record(type: EventType, entry: Tracked, message: string): void {
    const target = entry.active.target!;
    deps.events
      .append({
        type,
        service: target.target.case === "service" ? target.target.value : (registry.get(target.target.value ?? "")?.service ?? ""),
        instanceId: target.target.case === "instanceId" ? target.target.value : "",
        message,
        attributes: { fault_id: entry.active.id, kind: entry.active.fault?.spec.case ?? "" },
      })
      .catch((err: unknown) => logger.warn({ err }, "could not record a chaos event"));
  }

  async function reconcileOne(entry: Tracked): Promise<void> {
    if (entry.active.fault?.spec.case === "crash") return;
    await Promise.all(
      targets(entry.active.target!).map(async (instance) => {
        try {
          const backendId = entry.applied.get(instance.id);
          if (backendId !== undefined) {
            const { faults } = await deps.faults(instance.address).listFaults({}, { timeoutMs: 2000 });
            if (faults.some((f) => f.id === backendId)) return;
            logger.info({ instance_id: instance.id, fault_id: entry.active.id }, "re-applying a fault the instance lost");
          }
          await applyTo(entry, instance);
        } catch (err) {
          logger.debug({ err, instance_id: instance.id }, "could not reach an instance to apply a fault");
        }
      }),
    );
  }

  const timer = setInterval(() => {
    for (const entry of tracked.values()) void reconcileOne(entry);
  }, deps.reconcileMs ?? 2000);
  timer.unref();

  return {
    async inject(target, fault, actor) {
      const instances = targets(target);
      if (instances.length === 0) {
        throw new ConnectError(`no registered instance for ${describeTarget(target)}`, Code.NotFound);
      }
      const startedAt = now();
      const durationMillis = durationMs(fault.duration!);
      const stored = clone(FaultSchema, fault);
      stored.startTime = timestampFromMs(startedAt);
      stored.expireTime = timestampFromMs(startedAt + durationMillis);
      stored.source = actor;
      const id = randomUUID();
      const entry: Tracked = {
        active: create(ActiveFaultSchema, { id, target, fault: stored, instanceIds: [] }),
        expiresAt: startedAt + durationMillis,
        applied: new Map(),
        timer: setTimeout(() => {
          tracked.delete(id);
          record(EventType.FAULT_EXPIRED, entry, `fault ${id} on ${describeTarget(target)} expired`);
        }, durationMillis),
      };
      entry.timer.unref();
      const results = await Promise.allSettled(instances.map((i) => applyTo(entry, i)));
      const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (entry.applied.size === 0) {
        clearTimeout(entry.timer);
        throw failure ? ConnectError.from(failure.reason) : new ConnectError("the fault reached no instance", Code.Unavailable);
      }
      tracked.set(id, entry);
      record(EventType.FAULT_INJECTED, entry, `fault ${id} (${stored.spec.case}) injected on ${describeTarget(target)} by ${actor}`);
      return entry.active;
    },
    list() {
      return [...tracked.values()].sort((a, b) => a.expiresAt - b.expiresAt).map((e) => e.active);
    },
    async clear(id) {
      const entry = tracked.get(id);
      if (!entry) throw new ConnectError(`fault ${JSON.stringify(id)} not found`, Code.NotFound);
      tracked.delete(id);
      clearTimeout(entry.timer);
      await Promise.allSettled(
        [...entry.applied].map(async ([instanceId, backendId]) => {
          const instance = registry.get(instanceId);
          if (!instance) return;
          await deps.faults(instance.address).clearFault({ id: backendId }, { timeoutMs: 2000 }).catch((err: unknown) => {
            if (ConnectError.from(err).code !== Code.NotFound) throw err;
          });
        }),
      );
      record(EventType.FAULT_CLEARED, entry, `fault ${id} on ${describeTarget(entry.active.target!)} cleared`);
      return entry.active;
    },
    async reconcile() {
      await Promise.all([...tracked.values()].map(reconcileOne));
    },
    stop() {
      clearInterval(timer);
      for (const entry of tracked.values()) clearTimeout(entry.timer);
    },
  };
}

