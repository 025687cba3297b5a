import { RegistryService } from "../../../gen/mesh/control/v1/registry_pb.ts";
import type { Logger } from "../../../lib/logging/create-logger.ts";
import { startMeshService, type MeshService } from "../../../lib/server/start-mesh-service.ts";
import type { ControlConfig } from "./config.ts";
import { startInstanceProber } from "./registry/instance-prober.ts";
import { createRegistryService } from "./registry/registry-service.ts";
import { createRegistryState } from "./registry/registry-state.ts";

export interface Control {
  readonly service: MeshService;
  readonly url: string;
  stop(graceMs: number): Promise<void>;
}

/**
 * Wires the control plane: the registry (leases, health probing, watch streams). Policies, breakers, chaos,
 * load tests, scaling and the overview (the rest of mesh.control.v1) answer UNIMPLEMENTED until they are built.
 */
export async function startControl(config: ControlConfig, deps: { logger: Logger; now?: () => number }): Promise<Control> {
  const now = deps.now ?? Date.now;
  const stop = new AbortController();
  const registry = createRegistryState();
  registry.subscribe((change) => {
    const event = change.event;
    if (event.case === "instanceRemoved") deps.logger.info({ instance_id: event.value, revision: change.revision }, "instance removed");
  });
  const sweeper = setInterval(() => {
    for (const id of registry.expire(now())) deps.logger.warn({ instance_id: id }, "instance lease expired");
  }, 500);
  sweeper.unref();
  const prober = startInstanceProber({
    state: registry,
    logger: deps.logger,
    intervalMs: config.HEALTH_PROBE_INTERVAL_MS,
    thresholds: { healthy: config.HEALTHY_THRESHOLD, unhealthy: config.UNHEALTHY_THRESHOLD },
  });
  const service = await startMeshService({
    service: "control",
    instanceId: config.INSTANCE_ID,
    version: config.MESH_VERSION,
    host: config.HOST,
    port: config.PORT,
    logger: deps.logger,
    routes(router) {
      router.service(RegistryService, createRegistryService({ state: registry, now, stop: stop.signal }));
    },
  });
  return {
    service,
    get url() {
      return service.server.url;
    },
    async stop(graceMs) {
      stop.abort();
      clearInterval(sweeper);
      prober.stop();
      await service.drain(graceMs);
    },
  };
}
