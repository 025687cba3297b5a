import type { Logger } from "../../../lib/logging/create-logger.ts";
import { startMeshService, type MeshService } from "../../../lib/server/start-mesh-service.ts";
import type { ControlConfig } from "./config.ts";

export interface Control {
  readonly service: MeshService;
  readonly url: string;
  stop(graceMs: number): Promise<void>;
}

/**
 * Wires the control plane. Today it serves health, status and reflection; the registry, policies, chaos,
 * load tests, scaling and overview (mesh.control.v1) are registered here as they are built.
 */
export async function startControl(config: ControlConfig, deps: { logger: Logger }): Promise<Control> {
  const service = await startMeshService({
    service: "control",
    instanceId: config.INSTANCE_ID,
    version: config.MESH_VERSION,
    host: config.HOST,
    port: config.PORT,
    logger: deps.logger,
    routes() {},
  });
  return {
    service,
    get url() {
      return service.server.url;
    },
    stop: (graceMs) => service.drain(graceMs),
  };
}
