import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, Interceptor, ServiceImpl } from "@connectrpc/connect";
import { Registry, type RegistryContentType } from "prom-client";
import { StatusService } from "../../gen/mesh/health/v1/status_pb.ts";
import { createErrorInterceptor } from "../errors/error-interceptor.ts";
import { createHealthMonitor, type HealthCheck, type HealthMonitor } from "../health/health-monitor.ts";
import { registerHealth } from "../health/register-health.ts";
import type { Logger } from "../logging/create-logger.ts";
import { createRpcMetrics, type RpcMetrics } from "../metrics/rpc-metrics.ts";
import { registerReflection } from "../reflection/register-reflection.ts";
import { createStatusService, type StatusDeps } from "../status/status-service.ts";
import { createServerTracingInterceptor } from "../telemetry/tracing-interceptors.ts";
import { startRegistration } from "../registry/start-registration.ts";
import { createMeshServer, type MeshServer, type MeshServerOptions } from "./mesh-server.ts";

export interface MeshServiceOptions {
  /** The service's name, such as "backend". */
  service: string;
  instanceId: string;
  version: string;
  host: string;
  port: number;
  logger: Logger;
  /** Registers the service's own RPC services. */
  routes: (router: ConnectRouter) => void;
  /** Dependency checks behind grpc.health.v1, such as `{ postgres, redis }`. */
  healthChecks?: Readonly<Record<string, HealthCheck>>;
  /** @default 5000 */
  healthIntervalMs?: number;
  /** What the status RPC reports besides identity and traffic. */
  status?: Pick<StatusDeps, "database" | "cache" | "activeFaults">;
  /** Interceptors that run inside tracing, metrics and error mapping (e.g. fault injection). */
  interceptors?: Interceptor[];
  httpHandlers?: MeshServerOptions["httpHandlers"];
  /** Services described by reflection besides those on the router (a proxy's upstream services). */
  reflectServices?: readonly DescService[];
  /**
   * Registers the instance with the control plane at this URL after it listens, and deregisters it first
   * thing on drain. `advertiseUrl` is the address others reach it at. @default the listening URL
   */
  registration?: {
    controlUrl: string;
    advertiseUrl?: string | undefined;
    metadata?: Record<string, string>;
    /** Interceptors of the calls to control, such as the service credential's. */
    interceptors?: Interceptor[];
  };
  /** Process start in epoch ms. @default now */
  startTime?: number;
}

export interface MeshService {
  readonly server: MeshServer;
  readonly health: HealthMonitor;
  readonly metrics: RpcMetrics;
  readonly registry: Registry;
  /** NOT_SERVING everywhere, streams ended, then a drain of in-flight calls within `graceMs`. */
  drain(graceMs: number): Promise<void>;
}

/**
 * The bootstrap every mesh process shares: one port for Connect, gRPC and gRPC-Web; grpc.health.v1 from real
 * dependency checks; mesh.health.v1.StatusService; server reflection v1 and v1alpha; `GET /metrics`; and the
 * interceptor chain tracing → metrics → error mapping → the service's own → handler.
 */
export async function startMeshService(options: MeshServiceOptions): Promise<MeshService> {
  // OpenMetrics, so that latency histograms can carry trace-id exemplars; Prometheus scrapes it natively.
  const registry = new Registry();
  // prom-client types a registry by its format; the rest of the code only needs the Prometheus-typed API.
  (registry as Registry<RegistryContentType>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  registry.setDefaultLabels({ service: options.service, instance: options.instanceId });
  const metrics = createRpcMetrics(registry);
  const health = createHealthMonitor({
    checks: options.healthChecks ?? {},
    interval: options.healthIntervalMs ?? 5000,
    logger: options.logger,
  });
  let draining = false;
  const stop = new AbortController();
  const statusService: ServiceImpl<typeof StatusService> = createStatusService({
    service: options.service,
    instanceId: options.instanceId,
    version: options.version,
    startTime: options.startTime ?? Date.now(),
    traffic: metrics.traffic,
    draining: () => draining,
    stop: stop.signal,
    ...options.status,
  });
  const rpcServices: string[] = [];
  const server = createMeshServer({
    host: options.host,
    port: options.port,
    logger: options.logger,
    metrics: registry,
    interceptors: [
      createServerTracingInterceptor(),
      metrics.interceptor,
      createErrorInterceptor(options.logger),
      ...(options.interceptors ?? []),
    ],
    httpHandlers: options.httpHandlers,
    routes(router) {
      options.routes(router);
      for (const handler of router.handlers) {
        if (!rpcServices.includes(handler.service.typeName)) rpcServices.push(handler.service.typeName);
      }
      router.service(StatusService, statusService);
      registerHealth(router, health);
      registerReflection(router, { extraServices: options.reflectServices ?? [] });
    },
  });
  await health.checkNow();
  await server.listen();
  const registration =
    options.registration === undefined
      ? undefined
      : startRegistration({
          controlUrl: options.registration.controlUrl,
          instance: {
            id: options.instanceId,
            service: options.service,
            address: options.registration.advertiseUrl ?? server.url,
            version: options.version,
            rpcServices,
            metadata: options.registration.metadata ?? {},
          },
          logger: options.logger,
          interceptors: options.registration.interceptors ?? [],
        });
  return {
    server,
    health,
    metrics,
    registry,
    async drain(graceMs) {
      // Out of the registry first, so gateways stop picking this instance before it reports NOT_SERVING.
      await registration?.stop();
      draining = true;
      health.setDraining();
      stop.abort();
      // Let Watch streams deliver NOT_SERVING before they end, so watchers stop routing here at once.
      await new Promise((resolve) => setImmediate(resolve));
      health.close();
      const cut = await server.close(graceMs);
      if (cut > 0) options.logger.warn({ cut }, "grace period over: in-flight calls were cut off");
    },
  };
}
