import type { DescService } from "@bufbuild/protobuf";
import { BreakerService } from "../../../gen/mesh/control/v1/breaker_pb.ts";
import { ChaosService } from "../../../gen/mesh/control/v1/chaos_pb.ts";
import { EventService } from "../../../gen/mesh/control/v1/events_pb.ts";
import { LoadTestService } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import { OverviewService } from "../../../gen/mesh/control/v1/overview_pb.ts";
import { PolicyService } from "../../../gen/mesh/control/v1/policy_pb.ts";
import { RegistryService } from "../../../gen/mesh/control/v1/registry_pb.ts";
import { ScalingService } from "../../../gen/mesh/control/v1/scaling_pb.ts";
import { DataService } from "../../../gen/mesh/data/v1/data_pb.ts";
import { QueueService } from "../../../gen/mesh/queue/v1/queue_pb.ts";
import type { Logger } from "../../../lib/logging/create-logger.ts";
import { startMeshService, type MeshService } from "../../../lib/server/start-mesh-service.ts";
import type { GatewayConfig } from "./config.ts";
import { createPassThrough } from "./pass-through.ts";
import { createUpstream, roundRobin, type Upstream } from "./upstream.ts";

/** Services the backends serve, balanced across instances. */
export const backendServices: readonly DescService[] = [DataService, QueueService];

/** Services the control plane serves, reachable through the gateway. */
export const controlServices: readonly DescService[] = [
  RegistryService,
  PolicyService,
  BreakerService,
  ChaosService,
  LoadTestService,
  ScalingService,
  OverviewService,
  EventService,
];

export interface Gateway {
  readonly service: MeshService;
  readonly url: string;
  stop(graceMs: number): Promise<void>;
}

/** Wires the gateway: pass-through routes to backends and control, plus its own health, status and reflection. */
export async function startGateway(config: GatewayConfig, deps: { logger: Logger }): Promise<Gateway> {
  const backends = config.UPSTREAMS.map(createUpstream);
  const control = config.CONTROL_URL === undefined ? undefined : createUpstream(config.CONTROL_URL);
  const routes = new Map<string, () => Upstream>();
  const nextBackend = roundRobin(backends);
  for (const s of backendServices) routes.set(s.typeName, nextBackend);
  if (control) for (const s of controlServices) routes.set(s.typeName, () => control);
  const proxied = [...backendServices, ...(control ? controlServices : [])];

  const service = await startMeshService({
    service: "gateway",
    instanceId: config.INSTANCE_ID,
    version: config.MESH_VERSION,
    host: config.HOST,
    port: config.PORT,
    logger: deps.logger,
    reflectServices: proxied,
    httpHandlers: [createPassThrough({ routes, logger: deps.logger })],
    routes() {},
  });
  return {
    service,
    get url() {
      return service.server.url;
    },
    async stop(graceMs) {
      await service.drain(graceMs);
      for (const upstream of [...backends, ...(control ? [control] : [])]) upstream.close();
    },
  };
}
