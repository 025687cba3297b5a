import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { BreakerState, InstanceBreakerSchema } from "../../../gen/mesh/control/v1/breaker_pb.ts";
import { breakerBadge, breakerStateByInstance, worstBreakerState } from "./breaker-states.ts";

const breaker = (instanceId: string, gatewayId: string, state: BreakerState) => create(InstanceBreakerSchema, { instanceId, gatewayId, state });

describe("breakerStateByInstance", () => {
  it("keeps the worst state any gateway reports", () => {
    const states = breakerStateByInstance([
      breaker("backend-1", "gw-1", BreakerState.CLOSED),
      breaker("backend-1", "gw-2", BreakerState.OPEN),
      breaker("backend-1", "gw-3", BreakerState.HALF_OPEN),
      breaker("backend-2", "gw-1", BreakerState.CLOSED),
    ]);
    expect(states.get("backend-1")).toBe(BreakerState.OPEN);
    expect(states.get("backend-2")).toBe(BreakerState.CLOSED);
    expect(states.get("backend-3")).toBeUndefined();
  });
});

describe("worstBreakerState", () => {
  it("is the most severe state across gateways, UNSPECIFIED without any", () => {
    expect(worstBreakerState([])).toBe(BreakerState.UNSPECIFIED);
    expect(worstBreakerState([breaker("b", "g1", BreakerState.CLOSED), breaker("b", "g2", BreakerState.OPEN), breaker("b", "g3", BreakerState.HALF_OPEN)])).toBe(BreakerState.OPEN);
    expect(worstBreakerState([breaker("b", "g1", BreakerState.ISOLATED), breaker("b", "g2", BreakerState.OPEN)])).toBe(BreakerState.ISOLATED);
  });
});

describe("breakerBadge", () => {
  it.each([
    [BreakerState.CLOSED, "ok", "breaker closed"],
    [BreakerState.HALF_OPEN, "degraded", "breaker half-open"],
    [BreakerState.OPEN, "failing", "breaker open"],
    [BreakerState.ISOLATED, "failing", "breaker isolated"],
    [BreakerState.UNSPECIFIED, "unknown", "breaker not reported"],
    [undefined, "unknown", "breaker not reported"],
  ])("%s → %s %s", (state, tone, label) => {
    expect(breakerBadge(state)).toEqual({ tone, label });
  });
});
