import { Health, HealthCheckResponse_ServingStatus } from "../../../../gen/grpc/health/v1/health_pb.ts";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import { createClientCache } from "../../../../lib/rpc/create-client-cache.ts";
import type { RegistryState } from "./registry-state.ts";
import { nextVerdict, type ProbeHistory, type ProbeResult, type Thresholds } from "./serving-verdict.ts";

/** Checks one instance: grpc.health.v1 Check of the whole server (""). */
export type Probe = (address: string, signal: AbortSignal) => Promise<ProbeResult>;

export interface InstanceProberOptions {
  state: RegistryState;
  logger: Logger;
  /** @default a grpc.health.v1 Check over gRPC */
  probe?: Probe;
  /** @default 2000 */
  intervalMs?: number;
  /** @default 1000 */
  timeoutMs?: number;
  /** @default { healthy: 2, unhealthy: 3 } */
  thresholds?: Thresholds;
}

export interface InstanceProber {
  /** One round over every registered instance; resolves when all verdicts are recorded. */
  probeAll(): Promise<void>;
  stop(): void;
}

/** The default probe: grpc.health.v1 Check, one client (and HTTP/2 connection) per address. */
export function createGrpcHealthProbe(): Probe & { forget(address: string): void } {
  const clients = createClientCache(Health, []);
  const probe = async (address: string, signal: AbortSignal): Promise<ProbeResult> => {
    try {
      const res = await clients.get(address).check({ service: "" }, { signal });
      return res.status === HealthCheckResponse_ServingStatus.SERVING ? "serving" : "not_serving";
    } catch {
      return "unreachable";
    }
  };
  return Object.assign(probe, { forget: clients.forget });
}

/** Health-checks every registered instance on an interval and records the verdicts in the registry. */
export function startInstanceProber(options: InstanceProberOptions): InstanceProber {
  const { state, logger } = options;
  const defaultProbe = options.probe ? undefined : createGrpcHealthProbe();
  const probe = options.probe ?? defaultProbe!;
  const thresholds = options.thresholds ?? { healthy: 2, unhealthy: 3 };
  const timeoutMs = options.timeoutMs ?? 1000;
  const histories = new Map<string, ProbeHistory>();
  const stopController = new AbortController();
  let knownAddresses = new Set<string>();

  async function probeAll(): Promise<void> {
    const instances = state.list();
    const live = new Set(instances.map((i) => i.id));
    for (const id of histories.keys()) if (!live.has(id)) histories.delete(id);
    if (defaultProbe) {
      const addresses = new Set(instances.map((i) => i.address));
      for (const address of knownAddresses) if (!addresses.has(address)) defaultProbe.forget(address);
      knownAddresses = addresses;
    }
    await Promise.all(
      instances.map(async (instance) => {
        const signal = AbortSignal.any([stopController.signal, AbortSignal.timeout(timeoutMs)]);
        const result = await probe(instance.address, signal);
        if (stopController.signal.aborted) return;
        const before = histories.get(instance.id) ?? { state: instance.state, successes: 0, failures: 0 };
        const after = nextVerdict(before, result, thresholds);
        histories.set(instance.id, after);
        if (state.setServingState(instance.id, after.state)) {
          logger.info({ instance_id: instance.id, result, state: after.state }, "instance health changed");
        }
      }),
    );
  }

  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    probeAll().finally(() => (running = false));
  }, options.intervalMs ?? 2000);
  timer.unref();

  return {
    probeAll,
    stop() {
      clearInterval(timer);
      stopController.abort();
    },
  };
}
