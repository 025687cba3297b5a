import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { DescService, FileRegistry } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { trace } from "@opentelemetry/api";
import { Redis } from "ioredis";
import { Health } from "../../../gen/grpc/health/v1/health_pb.ts";
import { ServerReflection as ReflectionV1 } from "../../../gen/grpc/reflection/v1/reflection_pb.ts";
import { ServerReflection as ReflectionV1alpha } from "../../../gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { StatusService } from "../../../gen/mesh/health/v1/status_pb.ts";
import { createServiceCredentialInterceptor, serviceTokenHeader, startServiceCredential, type ServiceCredential } from "../../../lib/auth/service-credential.ts";
import type { Logger } from "../../../lib/logging/create-logger.ts";
import { backendServices, controlServices } from "../../../lib/mesh-services.ts";
import { startMeshService, type MeshService } from "../../../lib/server/start-mesh-service.ts";
import type { GatewayConfig } from "./config.ts";
import { createDashboardHandler } from "./dashboard/serve-dashboard.ts";
import { watchRegistry, type RegistryWatch } from "./discovery/watch-registry.ts";
import { createEdge } from "./edge/edge.ts";
import { createJwtVerifier } from "./edge/jwt-verifier.ts";
import { createPassThrough } from "./pass-through.ts";
import { createRateLimiter } from "./rate-limit/rate-limiter.ts";
import { startBreakerReports } from "./resilience/breaker-reporter.ts";
import { createCallRunner } from "./resilience/call-runner.ts";
import { createGatewayMetrics } from "./resilience/gateway-metrics.ts";
import { createRouteTally } from "./resilience/route-tally.ts";
import { loadDescriptorSet, servicesOf } from "./transcode/descriptor-set.ts";
import { createResilientTransports } from "./transcode/resilient-transport.ts";
import { createRestGateway } from "./transcode/rest-gateway.ts";
import { createUpstreamTransport } from "./transcode/upstream-transport.ts";
import { createUpstream, type Upstream } from "./upstream.ts";
import { createUpstreamDirectory, type StaticGroup } from "./upstreams/upstream-directory.ts";


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

const names = (services: readonly DescService[]) => services.map((s) => s.typeName);

/**
 * Wires the gateway: the edge (request ids, security headers, CORS, limits, JWT, rate limits), REST
 * transcoding, and the pass-through of Connect, gRPC and gRPC-Web to backends, control and the services of
 * DESCRIPTOR_SETS, both through one balancing and resilience path over instances from the control plane's
 * registry (or UPSTREAMS); plus its own health, status and reflection, all on one port.
 */
export async function startGateway(config: GatewayConfig, deps: { logger: Logger }): Promise<Gateway> {
  const { logger } = deps;
  const descriptorSets = (config.DESCRIPTOR_SETS ?? []).map(loadDescriptorSet);
  // The bundled set only lends its comments: every service in it is compiled in or not meant to be proxied.
  const bundled = existsSync(bundledDescriptorSet) ? [loadDescriptorSet(bundledDescriptorSet)] : [];
  const compiled = new Set([...backendServices, ...controlServices, ...ownServices].map((s) => s.typeName));
  const extraServices = servicesOnlyIn(descriptorSets, compiled);
  if (extraServices.length > 0) logger.info({ services: names(extraServices) }, "routing services from DESCRIPTOR_SETS");
  const proxied = [...backendServices, ...(config.CONTROL_URL ? controlServices : []), ...extraServices];

  const traffic = createRouteTally();
  const metrics = createGatewayMetrics({ traffic });
  const credential: ServiceCredential | undefined =
    config.MESH_SERVICE_SECRET === undefined ? undefined : await startServiceCredential({ secret: config.MESH_SERVICE_SECRET, subject: config.INSTANCE_ID });
  const extraUrls = config.DESCRIPTOR_SET_UPSTREAMS;
  /** The pool of DESCRIPTOR_SET_UPSTREAMS: services outside the mesh, possibly anyone's. */
  const foreignPool = "upstream";
  // The credential opens the mesh's backends: it goes to mesh processes only, never to the foreign pool.
  const credentialHeaders = (service: string): Readonly<Record<string, string>> =>
    credential && service !== foreignPool ? { [serviceTokenHeader]: credential.token() } : {};
  const controlInterceptors: Interceptor[] = credential ? [createServiceCredentialInterceptor(credential)] : [];

  const statics: StaticGroup[] = [];
  const backendUrls = config.UPSTREAMS ?? [];
  statics.push({ service: "backend", urls: backendUrls, rpcServices: [...names(backendServices), ...(extraUrls ? [] : names(extraServices))] });
  if (extraUrls) statics.push({ service: foreignPool, urls: extraUrls, rpcServices: names(extraServices) });
  if (config.CONTROL_URL) statics.push({ service: "control", urls: [config.CONTROL_URL], rpcServices: names(controlServices) });
  const directory = createUpstreamDirectory({
    statics,
    maxInFlight: config.UPSTREAM_MAX_IN_FLIGHT,
    hooks: {
      onBreakerChange(pool, endpoint, from, to) {
        metrics.breaker(pool.service, endpoint.id, to);
        metrics.breakerTransition(pool.service, endpoint.id, to);
        trace.getActiveSpan()?.addEvent("breaker_state_change", { "mesh.instance.id": endpoint.id, "mesh.breaker.from": from, "mesh.breaker.to": to });
        const log = to === "open" ? logger.warn.bind(logger) : logger.info.bind(logger);
        log({ instance_id: endpoint.id, upstream_service: pool.service, from, to }, "circuit breaker changed state");
      },
      onRetired(pool, endpoint) {
        metrics.forgetInstance(pool.service, endpoint.id);
      },
      onAdded(pool, endpoint) {
        metrics.breaker(pool.service, endpoint.id, endpoint.breakerState);
      },
    },
  });

  const controlTransport = config.CONTROL_URL
    ? createGrpcTransport({ baseUrl: config.CONTROL_URL, interceptors: controlInterceptors, idleConnectionTimeoutMs: 60_000 })
    : undefined;
  const watch: RegistryWatch | undefined = controlTransport
    ? watchRegistry({ transport: controlTransport, logger, onChange: (change) => directory.apply(change) })
    : undefined;

  const runner = createCallRunner({ metrics });
  const verifier =
    config.JWT_SECRET || config.JWT_JWKS_URL
      ? createJwtVerifier({
          secret: config.JWT_SECRET,
          jwksUrl: config.JWT_JWKS_URL,
          issuer: config.JWT_ISSUER,
          audience: config.JWT_AUDIENCE,
          rolesClaim: config.JWT_ROLES_CLAIM,
          clockToleranceS: config.JWT_CLOCK_TOLERANCE_S,
        })
      : undefined;
  if (!verifier) logger.warn("authentication is off: set JWT_SECRET or JWT_JWKS_URL to require tokens");
  const redis =
    config.RATE_LIMIT_PER_SECOND > 0 && config.REDIS_URL
      ? new Redis(config.REDIS_URL, {
          connectionName: config.INSTANCE_ID,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          commandTimeout: 200,
          connectTimeout: 1000,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        })
      : undefined;
  // Connection errors are reported by the limiter when a decision falls back; ioredis reconnects by itself.
  redis?.on("error", () => {});
  const limiter =
    config.RATE_LIMIT_PER_SECOND > 0
      ? createRateLimiter({
          ratePerSecond: config.RATE_LIMIT_PER_SECOND,
          burst: config.RATE_LIMIT_BURST || config.RATE_LIMIT_PER_SECOND,
          redis,
          keyPrefix: config.RATE_LIMIT_KEY_PREFIX,
          logger,
        })
      : undefined;
  const rpcServices = new Set([...names(proxied), ...compiled]);
  const edge = createEdge({
    verifier,
    limiter,
    corsOrigins: config.CORS_ALLOWED_ORIGINS ?? [],
    maxBodyBytes: config.MAX_BODY_BYTES,
    maxHeaderBytes: config.MAX_HEADER_BYTES,
    apiKeys: config.RATE_LIMIT_API_KEYS ?? [],
    trustForwardedFor: config.TRUST_FORWARDED_FOR,
    isRpcService: (name) => rpcServices.has(name),
    metrics,
    logger,
  });

  const resilient = createResilientTransports({ runner, protocol: config.TRANSCODE_UPSTREAM_PROTOCOL, upstreamHeaders: credentialHeaders });
  // REST reaches the proxied services, and the gateway's own StatusService through a call to itself.
  let self: Upstream | undefined;
  let selfTransport: ReturnType<typeof createUpstreamTransport> | undefined;
  const rest = createRestGateway({
    services: [...proxied, StatusService],
    transportFor(service) {
      if (service.typeName === StatusService.typeName) return selfTransport;
      const pool = directory.poolFor(service.typeName);
      return pool && resilient(pool, service.typeName);
    },
    authorize: edge.authorize,
    maxBodyBytes: config.MAX_BODY_BYTES,
    rpcServices,
    descriptorSets,
    commentSets: [...bundled, ...descriptorSets],
    config,
    logger,
  });
  const passThrough = createPassThrough({
    services: proxied,
    directory,
    runner,
    authorize: edge.authorize,
    upstreamHeaders: credentialHeaders,
    maxBodyBytes: config.MAX_BODY_BYTES,
    logger,
  });

  const service = await startMeshService({
    service: "gateway",
    instanceId: config.INSTANCE_ID,
    version: config.MESH_VERSION,
    host: config.HOST,
    port: config.PORT,
    logger,
    reflectServices: proxied,
    httpHandlers: [edge.handle, createDashboardHandler({ config: { authRequired: verifier !== undefined, jaegerUrl: config.JAEGER_UI_URL } }), rest, passThrough],
    routes() {},
  });
  metrics.register(service.registry);
  self = createUpstream(service.server.url);
  selfTransport = createUpstreamTransport(self, "grpc");
  const reports = controlTransport
    ? startBreakerReports({
        transport: controlTransport,
        gatewayId: config.INSTANCE_ID,
        pools: () => directory.pools(),
        traffic,
        intervalMs: config.BREAKER_REPORT_INTERVAL_MS,
        logger,
      })
    : undefined;
  return {
    service,
    get url() {
      return service.server.url;
    },
    async stop(graceMs) {
      reports?.stop();
      await watch?.stop();
      await service.drain(graceMs);
      directory.close();
      self?.close();
      credential?.stop();
      redis?.disconnect();
    },
  };
}
