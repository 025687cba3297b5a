import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ManagedInstanceSchema, Orchestrator, ProcessState, ServiceScaleSchema, type ServiceScale } from "../../../../gen/mesh/control/v1/scaling_pb.ts";
import { ServingState } from "../../../../gen/mesh/control/v1/registry_pb.ts";
import type { ProcessSpec, Supervised, Supervisor } from "../../../../lib/process/supervisor.ts";
import type { RegistryState } from "../registry/registry-state.ts";

export interface LocalScalerOptions {
  /** The one service this scaler runs, such as "backend". */
  service: string;
  supervisor: Supervisor;
  registry: RegistryState;
  /** The process for replica number `index` (1-based): command, env, and the address it will serve at. */
  spec: (index: number) => ProcessSpec & { instanceId: string; address: string };
}

export interface Scaler {
  /** Starts or stops replicas until `replicas` run; stops drain first (SIGTERM → graceful shutdown). */
  scale(replicas: number): Promise<ServiceScale>;
  describe(): ServiceScale;
}

/**
 * Scaling of the local mesh: the control plane supervises one service's processes. Replicas are numbered
 * from 1 and scale-down stops the highest numbers first; a crashed replica is restarted with backoff by the
 * supervisor.
 */
export function createLocalScaler(options: LocalScalerOptions): Scaler {
  const { supervisor, registry } = options;
  const replicas = new Map<number, { process: Supervised; instanceId: string; address: string }>();
  let desired = 0;

  function processState(entry: { process: Supervised; instanceId: string }): ProcessState {
    switch (entry.process.state) {
      case "restarting":
        return ProcessState.CRASHED;
      case "stopping":
        return ProcessState.DRAINING;
      case "stopped":
        return ProcessState.STOPPED;
      case "running":
        return registry.get(entry.instanceId)?.state === ServingState.SERVING ? ProcessState.RUNNING : ProcessState.STARTING;
    }
  }

  const describe = (): ServiceScale => {
    const instances = [...replicas.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, entry]) =>
        create(ManagedInstanceSchema, {
          instanceId: entry.instanceId,
          pid: entry.process.pid ?? 0,
          state: processState(entry),
          restarts: entry.process.restarts,
          startTime: timestampFromMs(entry.process.startedAt),
          address: entry.address,
        }),
      );
    return create(ServiceScaleSchema, {
      service: options.service,
      desiredReplicas: desired,
      readyReplicas: instances.filter((i) => i.state === ProcessState.RUNNING).length,
      instances,
      orchestrator: Orchestrator.LOCAL,
    });
  };

  return {
    async scale(count) {
      desired = count;
      for (let index = 1; index <= count; index++) {
        if (replicas.has(index)) continue;
        const spec = options.spec(index);
        replicas.set(index, { process: supervisor.start(spec), instanceId: spec.instanceId, address: spec.address });
      }
      const surplus = [...replicas.keys()].filter((i) => i > count).sort((a, b) => b - a);
      await Promise.all(
        surplus.map(async (index) => {
          const entry = replicas.get(index)!;
          await supervisor.remove(entry.process.name);
          replicas.delete(index);
        }),
      );
      return describe();
    },
    describe,
  };
}
