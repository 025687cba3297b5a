import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { EventType } from "../../../../gen/mesh/control/v1/events_pb.ts";
import { ScalingService } from "../../../../gen/mesh/control/v1/scaling_pb.ts";
import { invalidArgument } from "../../../../lib/errors/connect-errors.ts";
import type { EventLog } from "../events/event-log.ts";
import type { Scaler } from "./local-scaler.ts";
import { requestActor } from "../request-actor.ts";

export type OrchestratorName = "local" | "compose" | "kubernetes" | "none";

const owners: Record<Exclude<OrchestratorName, "local">, string> = {
  compose: "Docker Compose owns scaling here: run `docker compose up -d --scale backend=N`",
  kubernetes: "Kubernetes owns scaling here: run `kubectl scale deployment/backend --replicas=N`",
  none: "this control plane supervises no processes (start the mesh with `npm start` to scale locally)",
};

/** mesh.control.v1.ScalingService: local process scaling, or FAILED_PRECONDITION naming who owns scaling. */
export function createScalingService(deps: {
  orchestrator: OrchestratorName;
  scalers: ReadonlyMap<string, Scaler>;
  events: Pick<EventLog, "append">;
  maxReplicas?: number;
}): ServiceImpl<typeof ScalingService> {
  const maxReplicas = deps.maxReplicas ?? 16;
  const scalerOf = (service: string): Scaler => {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(service)) throw invalidArgument("service", "must be a service name such as backend");
    if (deps.orchestrator !== "local") throw new ConnectError(owners[deps.orchestrator], Code.FailedPrecondition);
    const scaler = deps.scalers.get(service);
    if (!scaler) throw new ConnectError(`service ${JSON.stringify(service)} is not scaled by this control plane; scalable: ${[...deps.scalers.keys()].join(", ")}`, Code.NotFound);
    return scaler;
  };
  return {
    async scaleService(req, ctx) {
      if (!Number.isInteger(req.replicas) || req.replicas < 0 || req.replicas > maxReplicas) {
        throw invalidArgument("replicas", `must be between 0 and ${maxReplicas}`);
      }
      const scaler = scalerOf(req.service);
      const before = scaler.describe().desiredReplicas;
      const scale = await scaler.scale(req.replicas);
      const actor = requestActor(ctx.requestHeader);
      if (before !== req.replicas) {
        await deps.events.append({
          type: EventType.SCALED,
          service: req.service,
          message: `${req.service} scaled from ${before} to ${req.replicas} by ${actor}`,
          attributes: { from: before, to: req.replicas, actor },
        });
      }
      return { scale };
    },
    getScale: (req) => ({ scale: scalerOf(req.service).describe() }),
  };
}
