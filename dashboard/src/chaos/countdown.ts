/** Time left until `expireAtMs`, as people read it: "1h 02m 03s", "4m 05s", "12s"; "ended" at or past it. */
export function formatCountdown(expireAtMs: number, nowMs: number): string {
  const left = expireAtMs - nowMs;
  if (!(left > 0)) return "ended";
  // Rounded up: the display reads "1s" until the fault has actually ended.
  const total = Math.ceil(left / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (hours > 0) return `${hours}h ${pad(minutes)}m ${pad(seconds)}s`;
  if (minutes > 0) return `${minutes}m ${pad(seconds)}s`;
  return `${seconds}s`;
}
