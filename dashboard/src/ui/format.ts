import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";

/** A protobuf Duration in milliseconds (0 when unset). */
export function durationMs(duration: Duration | undefined): number {
  if (!duration) return 0;
  return Number(duration.seconds) * 1000 + duration.nanos / 1e6;
}

/** A protobuf Timestamp in epoch milliseconds, or undefined when unset. */
export function timestampMs(timestamp: Timestamp | undefined): number | undefined {
  if (!timestamp) return undefined;
  return Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1e6);
}

/** A latency for people: "0.42 ms", "12.3 ms", "1.25 s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "0 ms";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** A fraction 0..1 as a percentage: "99.5 %", "100 %". */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return "–";
  const percent = fraction * 100;
  if (percent === 0 || percent === 100) return `${percent} %`;
  return `${percent < 10 ? percent.toFixed(2) : percent.toFixed(1)} %`;
}

/** A rate: "0", "3.4", "1,250". */
export function formatRate(value: number): string {
  if (!Number.isFinite(value) || value === 0) return "0";
  if (value < 10) return value.toFixed(1);
  return Math.round(value).toLocaleString("en-US");
}

/** "just now", "12 s ago", "3 min ago", "2 h ago", "4 d ago" (or "in …" for future times). */
export function formatRelative(thenMs: number, nowMs: number): string {
  const delta = Math.round((nowMs - thenMs) / 1000);
  const future = delta < 0;
  const s = Math.abs(delta);
  if (s < 5) return "just now";
  const text = s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : s < 86_400 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 86_400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}
