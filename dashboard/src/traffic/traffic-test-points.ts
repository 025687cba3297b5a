import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { TrafficPointSchema, type TrafficPoint } from "../../../gen/mesh/control/v1/traffic_pb.ts";

/** A point for tests: rates per instance and per route, latency p50/p99 in ms. */
export function testPoint(
  atMs: number,
  o: { instances?: Record<string, number>; routes?: Record<string, [rps: number, p50: number, p99: number]>; retries?: number; budgetUse?: number; service?: string } = {},
): TrafficPoint {
  const service = o.service ?? "backend";
  return create(TrafficPointSchema, {
    time: timestampFromMs(atMs),
    gateways: 1,
    instances: Object.entries(o.instances ?? {}).map(([instanceId, rps]) => ({ instanceId, service, metrics: { requestsPerSecond: rps, successRate: 1 } })),
    routes: Object.entries(o.routes ?? {}).map(([route, [rps, p50, p99]]) => ({
      route,
      service,
      metrics: { requestsPerSecond: rps, successRate: 1, latencyP50: durationFromMs(p50), latencyP99: durationFromMs(p99) },
    })),
    services: [{ service, retriesPerSecond: o.retries ?? 0, budgetUse: o.budgetUse ?? 0, budgetRatio: 0.2 }],
  });
}
