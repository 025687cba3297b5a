import type { TrafficPoint } from "../../../gen/mesh/control/v1/traffic_pb.ts";

/** One instance's part of its service's attempts. */
export interface SplitRow {
  instanceId: string;
  /** 0 to 1. */
  share: number;
  /** Attempts per second. */
  rps: number;
  /** 0 to 1. */
  successRate: number;
}

/**
 * The balancer's split for `service`, averaged over the points of the last `spanMs` (the newest point alone
 * jumps with each report). Shares are of the summed rates, so they add up to 1 when there was traffic.
 */
export function balancerSplit(points: readonly TrafficPoint[], service: string, spanMs: number, pointMs: (p: TrafficPoint) => number): SplitRow[] {
  const newest = points.at(-1);
  if (!newest) return [];
  const since = pointMs(newest) - spanMs;
  const recent = points.filter((p) => pointMs(p) >= since);
  const sums = new Map<string, { rps: number; ok: number }>();
  for (const p of recent) {
    for (const i of p.instances) {
      if (i.service !== service) continue;
      const s = sums.get(i.instanceId) ?? { rps: 0, ok: 0 };
      const r = i.metrics?.requestsPerSecond ?? 0;
      s.rps += r;
      s.ok += r * (i.metrics?.successRate ?? 1);
      sums.set(i.instanceId, s);
    }
  }
  // Instances gone from the newest point are no longer in rotation: leave them out.
  const current = new Set(newest.instances.filter((i) => i.service === service).map((i) => i.instanceId));
  const total = [...sums].filter(([id]) => current.has(id)).reduce((n, [, s]) => n + s.rps, 0);
  return [...sums]
    .filter(([id]) => current.has(id))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([instanceId, s]) => ({
      instanceId,
      share: total > 0 ? s.rps / total : 0,
      rps: recent.length > 0 ? s.rps / recent.length : 0,
      successRate: s.rps > 0 ? s.ok / s.rps : 1,
    }));
}
