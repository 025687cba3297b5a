import { durationMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { BreakerService } from "../../../../gen/mesh/control/v1/breaker_pb.ts";
import { EventType } from "../../../../gen/mesh/control/v1/events_pb.ts";
import { invalidArgument } from "../../../../lib/errors/connect-errors.ts";
import type { EventLog } from "../events/event-log.ts";
import type { RegistryState } from "../registry/registry-state.ts";
import type { BreakerBoard } from "./breaker-board.ts";

const namePattern = /^[A-Za-z0-9._-]{1,100}$/;
/** "Until reset": far enough ahead to outlive any process, and still a valid Timestamp. */
const untilReset = Date.UTC(9999, 0, 1);

/** mesh.control.v1.BreakerService: the mesh-wide breaker view, and operator isolation and reset. */
export function createBreakerService(deps: {
  board: BreakerBoard;
  registry: RegistryState;
  events: Pick<EventLog, "append">;
  now?: () => number;
}): ServiceImpl<typeof BreakerService> {
  const now = deps.now ?? Date.now;
  const checkInstance = (id: string) => {
    if (!namePattern.test(id)) throw invalidArgument("instance_id", "must be an instance id such as backend-1");
    const instance = deps.registry.get(id);
    if (!instance) throw new ConnectError(`instance ${JSON.stringify(id)} is not registered`, Code.NotFound);
    return instance;
  };
  const actorOf = (h: Headers) => (h.get("x-actor") ?? "").slice(0, 200) || "anonymous";
  return {
    reportBreakers(req) {
      if (!namePattern.test(req.gatewayId)) throw invalidArgument("gateway_id", "must be a gateway instance id");
      if (req.breakers.length > 10_000) throw invalidArgument("breakers", "at most 10000 entries");
      deps.board.report(req.gatewayId, req.breakers, now());
      return {};
    },
    listBreakers(req) {
      if (req.service !== "" && !namePattern.test(req.service)) throw invalidArgument("service", "must be a service name such as backend");
      return { breakers: deps.board.list(req.service, now()) };
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
        message: `${instance.id} isolated by ${actorOf(ctx.requestHeader)}${until === untilReset ? " until reset" : ""}`,
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
        message: `${instance.id} breakers reset by ${actorOf(ctx.requestHeader)}`,
      });
      return {};
    },
  };
}
