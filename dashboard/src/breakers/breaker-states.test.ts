import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { BreakerState, InstanceBreakerSchema } from "../../../gen/mesh/control/v1/breaker_pb.ts";
import { breakerBadge, breakerStateByInstance } from "./breaker-states.ts";

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

describe("breakerBadge", () => {
  it.each([
    [BreakerState.CLOSED, "ok", "breaker closed"],
    [BreakerState.HALF_OPEN, "degraded", "breaker half-open"],
    [BreakerState.OPEN, "failing", "breaker open"],
    [BreakerState.ISOLATED, "failing", "isolated"],
    [undefined, "unknown", "breaker not reported"],
  ])("%s → %s %s", (state, tone, label) => {
    expect(breakerBadge(state)).toEqual({ tone, label });
  });
});
