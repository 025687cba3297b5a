/** Jaeger UI's trace search for `service` between two times, optionally only traces at least `minDurationMs` long. */
export function jaegerSearchUrl(options: {
  jaegerUrl: string;
  service: string;
  startMs: number;
  endMs: number;
  minDurationMs?: number;
  /** Span tags to match, such as {"mesh.instance.id": "backend-1"} (the gateway's attempt spans carry it). */
  tags?: Record<string, string>;
  limit?: number;
}): string {
  const base = options.jaegerUrl.replace(/\/+$/, "");
  const params = new URLSearchParams({
    service: options.service,
    // Jaeger takes microseconds since the epoch.
    start: String(Math.floor(options.startMs) * 1000),
    end: String(Math.ceil(options.endMs) * 1000),
  });
  if (options.minDurationMs !== undefined && options.minDurationMs > 0) params.set("minDuration", `${Math.max(1, Math.floor(options.minDurationMs))}ms`);
  params.set("limit", String(options.limit ?? 20));
  if (options.tags && Object.keys(options.tags).length > 0) params.set("tags", JSON.stringify(options.tags));
  return `${base}/search?${params.toString()}`;
}

/** The gateway's window behind each figure: a point's latency describes the calls of the 10 s before it. */
export const figureWindowMs = 10_000;

/**
 * Jaeger's search around a latency spike at `atMs` of `latencyMs`: the gateway's traces of the figure's window
 * (a little past it, for clock skew) at least 80 % as slow as the spike, so the slow calls behind it are found.
 */
export function jaegerSpikeUrl(jaegerUrl: string, atMs: number, latencyMs: number, service = "gateway"): string {
  return jaegerSearchUrl({ jaegerUrl, service, startMs: atMs - figureWindowMs, endMs: atMs + 1000, minDurationMs: latencyMs * 0.8 });
}
