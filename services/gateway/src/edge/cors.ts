import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

export interface CorsPolicy {
  /** CORS headers for a request from `origin`; undefined when the origin is not allowed (or absent). */
  headersFor(origin: string | undefined): OutgoingHttpHeaders | undefined;
  /** The answer to a preflight: 204 with what may be sent, or 403 for an origin not allowed. */
  preflight(headers: IncomingHttpHeaders): { status: number; headers: OutgoingHttpHeaders };
}

/** Response headers a browser client may read: the RPC protocols' status, request ids and rate limits. */
const exposed = [
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
  "x-request-id",
  "ratelimit-limit",
  "ratelimit-remaining",
  "ratelimit-reset",
  "ratelimit-policy",
  "retry-after",
  "www-authenticate",
].join(", ");

const allowedRequestHeader = /^[a-z0-9-]{1,100}$/;

/**
 * CORS with an allow-list of origins (`*` allows any, without credentials). Preflights are answered here;
 * the allowed request headers echo what the browser asks for, since RPC metadata is free-form.
 */
export function createCorsPolicy(allowedOrigins: readonly string[]): CorsPolicy {
  const any = allowedOrigins.includes("*");
  const allowed = new Set(allowedOrigins.map((o) => o.replace(/\/+$/, "").toLowerCase()));
  const isAllowed = (origin: string | undefined): origin is string => origin !== undefined && (any || allowed.has(origin.toLowerCase()));
  return {
    headersFor(origin) {
      if (!isAllowed(origin)) return undefined;
      return { "access-control-allow-origin": origin, vary: "Origin", "access-control-expose-headers": exposed };
    },
    preflight(headers) {
      const origin = typeof headers.origin === "string" ? headers.origin : undefined;
      if (!isAllowed(origin)) return { status: 403, headers: { vary: "Origin" } };
      const asked = String(headers["access-control-request-headers"] ?? "")
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter((h) => allowedRequestHeader.test(h));
      return {
        status: 204,
        headers: {
          "access-control-allow-origin": origin,
          vary: "Origin",
          "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE",
          ...(asked.length > 0 ? { "access-control-allow-headers": asked.join(", ") } : {}),
          "access-control-max-age": "7200",
        },
      };
    },
  };
}
