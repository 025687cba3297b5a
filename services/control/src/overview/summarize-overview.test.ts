import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { SystemHealth } from "../../../../gen/mesh/control/v1/overview_pb.ts";
import { InstanceSchema, ServingState } from "../../../../gen/mesh/control/v1/registry_pb.ts";
import { GetStatusResponseSchema, OverallStatus } from "../../../../gen/mesh/health/v1/status_pb.ts";
import { summarizeOverview } from "./summarize-overview.ts";

const instance = (id: string, service: string, state: ServingState) => create(InstanceSchema, { id, service, state });
const status = (rpm: number, errorRate: number, avgMs: number, overall: OverallStatus = OverallStatus.OPERATIONAL) =>
  create(GetStatusResponseSchema, {
    status: overall,
    traffic: { requestsPerMinute: rpm, errorRate, averageResponseTime: durationFromMs(avgMs), requestsTotal: BigInt(rpm) },
  });

describe("summarizeOverview", () => {
  it("weights error rate and latency by each instance's traffic", () => {
    const overview = summarizeOverview(
      [instance("b1", "backend", ServingState.SERVING), instance("b2", "backend", ServingState.SERVING)],
      new Map([
        ["b1", status(300, 0.1, 10)],
        ["b2", status(100, 0.5, 50)],
      ]),
      0,
    );
    expect(overview.requestsPerMinute).toBe(400);
    expect(overview.errorRate).toBeCloseTo((30 + 50) / 400);
    expect(durationMs(overview.averageResponseTime!)).toBeCloseTo((300 * 10 + 100 * 50) / 400);
    expect(overview.services[0]?.metrics?.requestsPerSecond).toBeCloseTo(400 / 60);
    expect(overview.services[0]?.health).toBe(SystemHealth.DEGRADED);
  });

  it.each<[string, ServingState[], OverallStatus, number, SystemHealth, number]>([
    ["all serving, low errors", [ServingState.SERVING, ServingState.SERVING], OverallStatus.OPERATIONAL, 0.01, SystemHealth.HEALTHY, 1],
    ["one instance out", [ServingState.SERVING, ServingState.NOT_SERVING], OverallStatus.OPERATIONAL, 0, SystemHealth.DEGRADED, 1],
    ["error rate above 10 %", [ServingState.SERVING], OverallStatus.OPERATIONAL, 0.11, SystemHealth.DEGRADED, 1],
    ["a fault makes an instance degraded", [ServingState.SERVING], OverallStatus.DEGRADED, 0, SystemHealth.DEGRADED, 1],
    ["nothing serving", [ServingState.NOT_SERVING, ServingState.UNSPECIFIED], OverallStatus.OPERATIONAL, 0, SystemHealth.UNHEALTHY, 0],
  ])("%s", (_name, states, overall, errorRate, expected, active) => {
    const instances = states.map((s, i) => instance(`b${i}`, "backend", s));
    const statuses = new Map(instances.map((i) => [i.id, status(60, errorRate, 5, overall)]));
    const overview = summarizeOverview(instances, statuses, 0);
    expect(overview.services[0]?.health).toBe(expected);
    expect(overview.activeServices).toBe(active);
  });

  it("is UNHEALTHY with no instance at all, and counts no traffic from instances that did not answer", () => {
    expect(summarizeOverview([], new Map(), 0).health).toBe(SystemHealth.UNHEALTHY);
    const overview = summarizeOverview([instance("b1", "backend", ServingState.SERVING)], new Map(), 0);
    expect(overview.requestsPerMinute).toBe(0);
    expect(overview.health).toBe(SystemHealth.HEALTHY);
  });
});
