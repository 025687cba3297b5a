import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { BreakerState, InstanceBreakerSchema } from "../../../gen/mesh/control/v1/breaker_pb.ts";
import { GoldenMetricsSchema } from "../../../gen/mesh/control/v1/metrics_pb.ts";
import { InstanceSchema, ServingState } from "../../../gen/mesh/control/v1/registry_pb.ts";
import { combineGolden, instanceTone, servingBadge } from "./instance-health.ts";

const breaker = (state: BreakerState, rps = 0, successRate = 1, p99Ms = 0, gatewayId = "g1") =>
  create(InstanceBreakerSchema, {
    instanceId: "backend-1",
    gatewayId,
    state,
    metrics: create(GoldenMetricsSchema, { requestsPerSecond: rps, successRate, latencyP50: durationFromMs(p99Ms / 4), latencyP95: durationFromMs(p99Ms / 2), latencyP99: durationFromMs(p99Ms), requestsTotal: 10n }),
  });

describe("servingBadge", () => {
  it.each([
    [ServingState.SERVING, "ok", "serving"],
    [ServingState.NOT_SERVING, "failing", "not serving"],
    [ServingState.UNSPECIFIED, "unknown", "not checked yet"],
  ])("state %s is %s, %s", (state, tone, label) => {
    expect(servingBadge(create(InstanceSchema, { state }), 0)).toEqual({ tone, label });
  });

  it("an isolation in force wins over serving; a past one does not", () => {
    const instance = (untilMs: number) => create(InstanceSchema, { state: ServingState.SERVING, isolatedUntil: timestampFromMs(untilMs) });
    expect(servingBadge(instance(2000), 1000).label).toBe("isolated");
    expect(servingBadge(instance(500), 1000).label).toBe("serving");
  });
});

describe("instanceTone", () => {
  it("the instance's tone is the worse of serving and breaker", () => {
    expect(instanceTone({ tone: "ok", label: "" }, { tone: "failing", label: "" })).toBe("failing");
    expect(instanceTone({ tone: "ok", label: "" }, { tone: "degraded", label: "" })).toBe("degraded");
    expect(instanceTone({ tone: "ok", label: "" }, { tone: "unknown", label: "" })).toBe("ok");
    expect(instanceTone({ tone: "unknown", label: "" }, { tone: "ok", label: "" })).toBe("unknown");
  });
});

describe("combineGolden", () => {
  it("adds rates, weights success by rate and takes the highest percentile", () => {
    const g = combineGolden([breaker(BreakerState.CLOSED, 30, 1, 40, "g1"), breaker(BreakerState.CLOSED, 10, 0.6, 100, "g2")])!;
    expect(g.rps).toBe(40);
    expect(g.successRate).toBeCloseTo(0.9);
    expect(g.p99).toBe(100);
    expect(g.p50).toBe(25);
    expect(g.requests).toBe(20);
  });

  it("is undefined without reports", () => {
    expect(combineGolden([])).toBeUndefined();
  });
});
