import { create } from "@bufbuild/protobuf";
import { durationMs, timestampFromMs, timestampNow } from "@bufbuild/protobuf/wkt";
import { durationFromMillis } from "../proto/duration-from-millis.ts";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Fault } from "../../gen/mesh/chaos/v1/fault_pb.ts";
import {
  ConnectionState,
  DependencyStatusSchema,
  GetStatusResponseSchema,
  OverallStatus,
  ProcessStatsSchema,
  StatusService,
  TrafficStatsSchema,
  type GetStatusResponse,
} from "../../gen/mesh/health/v1/status_pb.ts";
import { invalidArgument } from "../errors/connect-errors.ts";
import type { TrafficSnapshot } from "../metrics/traffic-window.ts";
import type { DependencyProbe } from "./dependency-probes.ts";
import { pause } from "../async/pause.ts";

export interface StatusDeps {
  service: string;
  instanceId: string;
  version: string;
  /** Process start, in epoch milliseconds. */
  startTime: number;
  traffic: () => TrafficSnapshot & { inFlight: number };
  /** Required dependencies: when one is down the instance is DOWN. */
  database?: DependencyProbe;
  cache?: DependencyProbe;
  /** Faults active now; any makes the instance DEGRADED. */
  activeFaults?: () => Fault[];
  /** True once shutdown began. */
  draining?: () => boolean;
  /** Aborts when the server shuts down: WatchStatus streams end then. */
  stop?: AbortSignal;
  /** Upper bound for each probe. @default 2000 */
  probeTimeoutMs?: number;
}

/** Reads the live status of this instance: dependency pings, traffic, faults and process figures. */
export async function readStatus(deps: StatusDeps, signal: AbortSignal): Promise<GetStatusResponse> {
  const probeSignal = AbortSignal.any([signal, AbortSignal.timeout(deps.probeTimeoutMs ?? 2000)]);
  const [database, cache] = await Promise.all([deps.database?.(probeSignal), deps.cache?.(probeSignal)]);
  const traffic = deps.traffic();
  const faults = deps.activeFaults?.() ?? [];
  const memory = process.memoryUsage();
  const dependencyDown = [database, cache].some((d) => d !== undefined && d.state !== ConnectionState.CONNECTED);
  // Matches grpc.health.v1: a required dependency down or a drain means NOT_SERVING there and DOWN here.
  const status =
    (deps.draining?.() ?? false) || dependencyDown
      ? OverallStatus.DOWN
      : faults.length > 0
        ? OverallStatus.DEGRADED
        : OverallStatus.OPERATIONAL;
  return create(GetStatusResponseSchema, {
    status,
    service: deps.service,
    instanceId: deps.instanceId,
    version: deps.version,
    uptime: durationFromMillis(Date.now() - deps.startTime),
    startTime: timestampFromMs(deps.startTime),
    database: database ?? create(DependencyStatusSchema),
    cache: cache ?? create(DependencyStatusSchema),
    traffic: create(TrafficStatsSchema, {
      requestsPerMinute: traffic.requestsPerMinute,
      errorRate: traffic.errorRate,
      averageResponseTime: durationFromMillis(traffic.averageResponseMs),
      requestsTotal: BigInt(traffic.requestsTotal),
      inFlight: BigInt(traffic.inFlight),
    }),
    activeFaults: faults,
    process: create(ProcessStatsSchema, {
      rssBytes: BigInt(memory.rss),
      heapUsedBytes: BigInt(memory.heapUsed),
      pid: process.pid,
    }),
    time: timestampNow(),
  });
}

const minIntervalMs = 1000;
const maxIntervalMs = 3_600_000;

/** mesh.health.v1.StatusService over readStatus. */
export function createStatusService(deps: StatusDeps): ServiceImpl<typeof StatusService> {
  return {
    getStatus: (_req, ctx) => readStatus(deps, ctx.signal),
    async *watchStatus(req, ctx) {
      const intervalMs = req.interval === undefined ? 5000 : durationMs(req.interval);
      if (!Number.isFinite(intervalMs) || intervalMs < minIntervalMs || intervalMs > maxIntervalMs) {
        throw invalidArgument("interval", "must be between 1s and 3600s");
      }
      const signal = deps.stop ? AbortSignal.any([ctx.signal, deps.stop]) : ctx.signal;
      while (!signal.aborted) {
        yield { status: await readStatus(deps, signal) };
        await pause(intervalMs, signal);
      }
    },
  };
}
