import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { DescService, FileRegistry } from "@bufbuild/protobuf";
import { Health } from "../../../gen/grpc/health/v1/health_pb.ts";
import { ServerReflection as ReflectionV1 } from "../../../gen/grpc/reflection/v1/reflection_pb.ts";
import { ServerReflection as ReflectionV1alpha } from "../../../gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { BreakerService } from "../../../gen/mesh/control/v1/breaker_pb.ts";
import { ChaosService } from "../../../gen/mesh/control/v1/chaos_pb.ts";
import { EventService } from "../../../gen/mesh/control/v1/events_pb.ts";
import { LoadTestService } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import { OverviewService } from "../../../gen/mesh/control/v1/overview_pb.ts";
import { PolicyService } from "../../../gen/mesh/control/v1/policy_pb.ts";
import { RegistryService } from "../../../gen/mesh/control/v1/registry_pb.ts";
import { ScalingService } from "../../../gen/mesh/control/v1/scaling_pb.ts";
import { DataService } from "../../../gen/mesh/data/v1/data_pb.ts";
import { StatusService } from "../../../gen/mesh/health/v1/status_pb.ts";
import { QueueService } from "../../../gen/mesh/queue/v1/queue_pb.ts";
import type { Logger } from "../../../lib/logging/create-logger.ts";
import { startMeshService, type MeshService } from "../../../lib/server/start-mesh-service.ts";
import type { GatewayConfig } from "./config.ts";
import { createPassThrough } from "./pass-through.ts";
import { loadDescriptorSet, servicesOf } from "./transcode/descriptor-set.ts";
import { createRestGateway } from "./transcode/rest-gateway.ts";
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

/** Services every mesh process serves itself (lib/server/start-mesh-service.ts). */
const ownServices: readonly DescService[] = [StatusService, Health, ReflectionV1, ReflectionV1alpha];

/**
 * Comments of the mesh's own protos for /openapi.json, when `npm run generate` has written the descriptor set
 * (`buf build --as-file-descriptor-set -o gen/mesh.binpb`); generated code carries no comments.
 */
const bundledDescriptorSet = fileURLToPath(new URL("../../../gen/mesh.binpb", import.meta.url));

export interface Gateway {
  readonly service: MeshService;
  readonly url: string;
  stop(graceMs: number): Promise<void>;
}

/** The services of descriptor sets that the gateway was not compiled with, each once. */
function servicesOnlyIn(sets: readonly FileRegistry[], compiled: ReadonlySet<string>): DescService[] {
  const found = new Map<string, DescService>();
  for (const set of sets) {
    for (const s of servicesOf(set)) if (!compiled.has(s.typeName) && !found.has(s.typeName)) found.set(s.typeName, s);
  }
  return [...found.values()];
}

/**
 * Wires the gateway: REST transcoding first, then the pass-through of Connect, gRPC and gRPC-Web to backends,
 * control and the services of DESCRIPTOR_SETS, plus its own health, status and reflection, all on one port.
 */
export async function startGateway(config: GatewayConfig, deps: { logger: Logger }): Promise<Gateway> {
  const { logger } = deps;
  const descriptorSets = (config.DESCRIPTOR_SETS ?? []).map(loadDescriptorSet);
  // The bundled set only lends its comments: every service in it is compiled in or not meant to be proxied.
  const bundled = existsSync(bundledDescriptorSet) ? [loadDescriptorSet(bundledDescriptorSet)] : [];
  const compiled = new Set([...backendServices, ...controlServices, ...ownServices].map((s) => s.typeName));
  const extraServices = servicesOnlyIn(descriptorSets, compiled);

  const backends = config.UPSTREAMS.map(createUpstream);
  const control = config.CONTROL_URL === undefined ? undefined : createUpstream(config.CONTROL_URL);
  const extraUpstreams = config.DESCRIPTOR_SET_UPSTREAMS?.map(createUpstream) ?? backends;
  const routes = new Map<string, () => Upstream>();
  const nextBackend = roundRobin(backends);
  for (const s of backendServices) routes.set(s.typeName, nextBackend);
  if (control) for (const s of controlServices) routes.set(s.typeName, () => control);
  const nextExtra = roundRobin(extraUpstreams);
  for (const s of extraServices) routes.set(s.typeName, nextExtra);
  const proxied = [...backendServices, ...(control ? controlServices : []), ...extraServices];

  // REST reaches the proxied services, and the gateway's own StatusService through a call to itself.
  let self: Upstream | undefined;
  const rest = createRestGateway({
    services: [...proxied, StatusService],
    pickUpstream: (service) => (service.typeName === StatusService.typeName ? self : routes.get(service.typeName)?.()),
    rpcServices: new Set([...routes.keys(), ...compiled]),
    descriptorSets,
    commentSets: [...bundled, ...descriptorSets],
    config,
    logger,
  });
  if (extraServices.length > 0) logger.info({ services: extraServices.map((s) => s.typeName) }, "routing services from DESCRIPTOR_SETS");

  const service = await startMeshService({
    service: "gateway",
    instanceId: config.INSTANCE_ID,
    version: config.MESH_VERSION,
    host: config.HOST,
    port: config.PORT,
    logger,
    reflectServices: proxied,
    httpHandlers: [rest, createPassThrough({ routes, logger })],
    routes() {},
  });
  self = createUpstream(service.server.url);
  return {
    service,
    get url() {
      return service.server.url;
    },
    async stop(graceMs) {
      await service.drain(graceMs);
      for (const upstream of new Set([...backends, ...extraUpstreams, ...(control ? [control] : []), ...(self ? [self] : [])])) {
        upstream.close();
      }
    },
  };
}
