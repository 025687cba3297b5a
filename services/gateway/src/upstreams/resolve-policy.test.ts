import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { LoadBalancing, ServicePolicySchema } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import { balancingName, resolvePolicy } from "./resolve-policy.ts";

describe("resolvePolicy", () => {
  it("gives a service nobody configured control's defaults", () => {
    const p = resolvePolicy(undefined, "backend");
    expect({ balancing: p.balancing, ratio: p.budgetRatio, floor: p.budgetMinPerSecond, breaker: p.breaker, method: p.method("a.B/C") }).toEqual({
      balancing: "round_robin",
      ratio: 0.2,
      floor: 10,
      breaker: { consecutiveFailures: 5, failureRateThreshold: 0, samplingWindowMs: 10_000, minimumRequests: 20, halfOpenAfterMs: 5000, maxEjectionRatio: 0.5 },
      method: { maxAttempts: 3, initialBackoffMs: 25, maxBackoffMs: 1000, requestTimeoutMs: 15_000, attemptTimeoutMs: 15_000 },
    });
  });

  it.each([
    [LoadBalancing.UNSPECIFIED, "round_robin"],
    [LoadBalancing.ROUND_ROBIN, "round_robin"],
    [LoadBalancing.LEAST_REQUEST, "least_request"],
    [LoadBalancing.PEAK_EWMA, "peak_ewma"],
  ])("maps load balancing %i to %s", (value, algorithm) => {
    expect(resolvePolicy(create(ServicePolicySchema, { service: "s", loadBalancing: value }), "s").balancing).toBe(algorithm);
  });

  it("merges a method's overrides over the service's settings", () => {
    const p = resolvePolicy(
      create(ServicePolicySchema, {
        service: "backend",
        retry: { maxAttempts: 4, initialBackoff: durationFromMs(10) },
        timeout: { requestTimeout: durationFromMs(2000), attemptTimeout: durationFromMs(500) },
        methods: [
          { method: "mesh.data.v1.DataService/GetItem", retry: { maxAttempts: 5 } },
          { method: "mesh.data.v1.DataService/ListItems", timeout: { requestTimeout: durationFromMs(800) } },
        ],
      }),
      "backend",
    );
    expect(p.method("mesh.data.v1.DataService/CreateItem")).toEqual({ maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 1000, requestTimeoutMs: 2000, attemptTimeoutMs: 500 });
    expect(p.method("mesh.data.v1.DataService/GetItem")).toEqual({ maxAttempts: 5, initialBackoffMs: 25, maxBackoffMs: 1000, requestTimeoutMs: 2000, attemptTimeoutMs: 500 });
    expect(p.method("mesh.data.v1.DataService/ListItems")).toEqual({ maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 1000, requestTimeoutMs: 800, attemptTimeoutMs: 800 });
  });

  it("names algorithms as the proto does", () => {
    expect(balancingName(LoadBalancing.PEAK_EWMA)).toBe("LOAD_BALANCING_PEAK_EWMA");
  });
});
