import type { InstanceBreaker } from "../../../gen/mesh/control/v1/breaker_pb.ts";
import type { GoldenMetrics } from "../../../gen/mesh/control/v1/metrics_pb.ts";
import { ServingState, type Instance } from "../../../gen/mesh/control/v1/registry_pb.ts";
import { durationMs, timestampMs } from "../ui/format.ts";
import type { Badge, Tone } from "../ui/status-badge.tsx";

/** Whether control routes to the instance, from its serving state and any isolation. */
export function servingBadge(instance: Instance, nowMs: number): Badge {
  const isolatedUntil = timestampMs(instance.isolatedUntil);
  if (isolatedUntil !== undefined && isolatedUntil > nowMs) return { tone: "failing", label: "isolated" };
  switch (instance.state) {
    case ServingState.SERVING:
      return { tone: "ok", label: "serving" };
    case ServingState.NOT_SERVING:
      return { tone: "failing", label: "not serving" };
    default:
      return { tone: "unknown", label: "not checked yet" };
  }
}

/** The instance's overall tone: the worse of serving and breaker. */
export function instanceTone(serving: Badge, breaker: Badge): Tone {
  if (serving.tone === "failing" || breaker.tone === "failing") return "failing";
  if (serving.tone === "degraded" || breaker.tone === "degraded") return "degraded";
  if (serving.tone === "ok") return "ok";
  return "unknown";
}

/** Golden metrics in plain numbers (milliseconds for latencies). */
export interface Golden {
  rps: number;
  successRate: number;
  p50: number;
  p95: number;
  p99: number;
  requests: number;
}

export function goldenOf(metrics: GoldenMetrics | undefined): Golden | undefined {
  if (!metrics) return undefined;
  return {
    rps: metrics.requestsPerSecond,
    successRate: metrics.successRate,
    p50: durationMs(metrics.latencyP50),
    p95: durationMs(metrics.latencyP95),
    p99: durationMs(metrics.latencyP99),
    requests: Number(metrics.requestsTotal),
  };
}

/**
 * One instance's golden metrics across gateways: rates add up, the success rate is weighted by rate, and a
 * percentile is the highest any gateway saw (an upper bound: percentiles do not add).
 */
export function combineGolden(breakers: readonly InstanceBreaker[]): Golden | undefined {
  const all = breakers.map((b) => goldenOf(b.metrics)).filter((g): g is Golden => g !== undefined);
  if (all.length === 0) return undefined;
  if (all.length === 1) return all[0];
  const rps = all.reduce((sum, g) => sum + g.rps, 0);
  const successRate = rps > 0 ? all.reduce((sum, g) => sum + g.successRate * g.rps, 0) / rps : Math.min(...all.map((g) => g.successRate));
  return {
    rps,
    successRate,
    p50: Math.max(...all.map((g) => g.p50)),
    p95: Math.max(...all.map((g) => g.p95)),
    p99: Math.max(...all.map((g) => g.p99)),
    requests: all.reduce((sum, g) => sum + g.requests, 0),
  };
}
