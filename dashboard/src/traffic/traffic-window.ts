import type { TrafficPoint } from "../../../gen/mesh/control/v1/traffic_pb.ts";
import { timestampMs } from "../ui/format.ts";

/** What the Traffic view keeps: points in time order, at most `windowMs` old. */
export interface TrafficWindow {
  readonly points: readonly TrafficPoint[];
}

export const emptyTrafficWindow: TrafficWindow = { points: [] };

export const pointMs = (p: TrafficPoint): number => timestampMs(p.time) ?? 0;

/**
 * Adds a WatchTraffic message. The first message of each (re)connection repeats the history: points the
 * window already holds (same time) are replaced, not doubled. Points older than `windowMs` before the newest
 * leave the window.
 */
export function addTrafficPoints(window: TrafficWindow, incoming: readonly TrafficPoint[], windowMs: number): TrafficWindow {
  if (incoming.length === 0) return window;
  const byTime = new Map<number, TrafficPoint>();
  for (const p of window.points) byTime.set(pointMs(p), p);
  for (const p of incoming) byTime.set(pointMs(p), p);
  const sorted = [...byTime.entries()].sort(([a], [b]) => a - b);
  const newest = sorted.at(-1)?.[0] ?? 0;
  return { points: sorted.filter(([t]) => t >= newest - windowMs).map(([, p]) => p) };
}

/** Services seen in the window, for the service picker: "backend" first when present. */
export function servicesIn(window: TrafficWindow): string[] {
  const names = new Set<string>();
  for (const p of window.points) for (const s of p.services) names.add(s.service);
  for (const p of window.points) for (const r of p.routes) names.add(r.service);
  return [...names].sort((a, b) => (a === "backend" ? -1 : b === "backend" ? 1 : a.localeCompare(b)));
}
