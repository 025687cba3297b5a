import { create, toBinary } from "@bufbuild/protobuf";
import { durationMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { BreakerService, ListBreakersResponseSchema } from "../../../../gen/mesh/control/v1/breaker_pb.ts";
import { EventType } from "../../../../gen/mesh/control/v1/events_pb.ts";
import { invalidArgument } from "../../../../lib/errors/connect-errors.ts";
import type { EventLog } from "../events/event-log.ts";
import type { RegistryState } from "../registry/registry-state.ts";
import type { TrafficHistory } from "../traffic/traffic-history.ts";
import type { BreakerBoard } from "./breaker-board.ts";
import { requestActor } from "../request-actor.ts";

const namePattern = /^[A-Za-z0-9._-]{1,100}$/;
/** "Until reset": far enough ahead to outlive any process, and still a valid Timestamp. */
const untilReset = Date.UTC(9999, 0, 1);

/** mesh.control.v1.BreakerService: the mesh-wide breaker view, and operator isolation and reset. */
export function createBreakerService(deps: {
  board: BreakerBoard;
  registry: RegistryState;
  events: Pick<EventLog, "append">;
  now?: () => number;
  /** Aborts when control shuts down: watch streams end then. */
  stop?: AbortSignal;
  /**
   * How often a watch rebuilds its view without a report or registry change, so gateways that went stale
   * and isolations that ended drop out. Nothing is sent when the view is unchanged. @default 5000
   */
  refreshMs?: number;
  /** Takes the traffic figures that come with each report. */
  traffic?: Pick<TrafficHistory, "record">;
}): ServiceImpl<typeof BreakerService> {
  const now = deps.now ?? Date.now;
  const refreshMs = deps.refreshMs ?? 5000;
  const checkService = (service: string) => {
    if (service !== "" && !namePattern.test(service)) throw invalidArgument("service", "must be a service name such as backend");
  };
  const checkInstance = (id: string) => {
    if (!namePattern.test(id)) throw invalidArgument("instance_id", "must be an instance id such as backend-1");
    const instance = deps.registry.get(id);
    if (!instance) throw new ConnectError(`instance ${JSON.stringify(id)} is not registered`, Code.NotFound);
    return instance;
  };
  return {
    reportBreakers(req) {
      if (!namePattern.test(req.gatewayId)) throw invalidArgument("gateway_id", "must be a gateway instance id");
      if (req.breakers.length > 10_000) throw invalidArgument("breakers", "at most 10000 entries");
      if (req.routes.length > 10_000) throw invalidArgument("routes", "at most 10000 entries");
      if (req.retryBudgets.length > 1000) throw invalidArgument("retry_budgets", "at most 1000 entries");
      const at = now();
      deps.board.report(req.gatewayId, req.breakers, at);
      deps.traffic?.record({ gatewayId: req.gatewayId, breakers: req.breakers, routes: req.routes, retryBudgets: req.retryBudgets }, at);
      return {};
    },
    listBreakers(req) {
      checkService(req.service);
      return { breakers: deps.board.list(req.service, now()) };
    },
    async *watchBreakers(req, ctx) {
      checkService(req.service);
      const signal = deps.stop ? AbortSignal.any([ctx.signal, deps.stop]) : ctx.signal;
      // A flag, not a queue: every message is the whole view, so changes during a slow read merge into one.
      let changed = true;
      let wake: (() => void) | undefined;
      const poke = () => {
        changed = true;
        wake?.();
      };
      const unsubscribeBoard = deps.board.subscribe(poke);
      const unsubscribeRegistry = deps.registry.subscribe(poke);
      const onAbort = () => wake?.();
      signal.addEventListener("abort", onAbort);
      let lastSent: Uint8Array | undefined;
      try {
        while (!signal.aborted) {
          if (!changed) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(poke, refreshMs);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            wake = undefined;
            continue;
          }
          changed = false;
          const breakers = deps.board.list(req.service, now());
          const bytes = toBinary(ListBreakersResponseSchema, create(ListBreakersResponseSchema, { breakers }));
          if (lastSent !== undefined && Buffer.compare(lastSent, bytes) === 0) continue;
          lastSent = bytes;
          yield { breakers, observeTime: timestampFromMs(now()) };
        }
      } finally {
        unsubscribeBoard();
        unsubscribeRegistry();
        signal.removeEventListener("abort", onAbort);
      }
    },
    async isolateInstance(req, ctx) {
      const instance = checkInstance(req.instanceId);
      let until = untilReset;
      if (req.duration !== undefined) {
        const ms = durationMs(req.duration);
        if (!(ms >= 1000 && ms <= 86_400_000)) throw invalidArgument("duration", "must be between 1s and 86400s, or unset for until reset");
        until = now() + ms;
      }
      deps.registry.isolate(instance.id, until);
      await deps.events.append({
        type: EventType.BREAKER_OPENED,
        service: instance.service,
        instanceId: instance.id,
        message: `${instance.id} isolated by ${requestActor(ctx.requestHeader)}${until === untilReset ? " until reset" : ""}`,
      });
      return { expireTime: until === untilReset ? undefined : timestampFromMs(until) };
    },
    async resetBreaker(req, ctx) {
      const instance = checkInstance(req.instanceId);
      deps.registry.resetBreaker(instance.id);
      await deps.events.append({
        type: EventType.BREAKER_CLOSED,
        service: instance.service,
        instanceId: instance.id,
        message: `${instance.id} breakers reset by ${requestActor(ctx.requestHeader)}`,
      });
      return {};
    },
  };
}
