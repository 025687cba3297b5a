import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { HttpRequest } from "../../../../lib/server/http-exchange.ts";

/** Connection-level headers (RFC 9110 §7.6.1, RFC 9113 §8.2.2): never forwarded in either direction. */
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "transfer-encoding",
  "upgrade",
  "host",
  "http2-settings",
  "te",
  "trailer",
]);

/**
 * Request headers that describe the REST exchange itself and would confuse the upstream RPC: its own
 * content headers, the deadline headers (translated instead), and protocol headers a client could forge.
 */
const notForwarded = new Set([
  "content-type",
  "content-length",
  "content-encoding",
  "accept",
  "accept-encoding",
  "expect",
  "user-agent",
  "x-server-timeout",
  "x-request-id",
  "x-forwarded-for",
]);

/** Response metadata that belongs to the RPC protocol or the HTTP framing, not to the application. */
const notReturned = new Set([
  "content-type",
  "content-length",
  "content-encoding",
  "accept-encoding",
  "date",
  "vary",
  "x-request-id",
]);

const requestIdPattern = /^[\x21-\x7e]{1,200}$/;

/** The caller's `X-Request-Id` when it is a sane token (printable ASCII, at most 200), else a new UUID. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers["x-request-id"];
  return typeof given === "string" && requestIdPattern.test(given) ? given : randomUUID();
}

function isProtocolHeader(name: string): boolean {
  return name.startsWith("grpc-") || name.startsWith("connect-") || name.startsWith(":");
}

/**
 * The headers sent upstream: everything end-to-end the client sent (Authorization, traceparent/tracestate,
 * Idempotency-Key, custom metadata) except what is listed above, plus `x-request-id` and the
 * `x-forwarded-*` trio. Headers a `Connection` header names are hop-by-hop too.
 */
export function upstreamHeaders(req: HttpRequest, requestId: string): Headers {
  const headers = new Headers();
  const connectionListed = new Set(
    String(req.headers.connection ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s !== ""),
  );
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || hopByHop.has(name) || notForwarded.has(name) || connectionListed.has(name) || isProtocolHeader(name)) {
      continue;
    }
    try {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else headers.set(name, value);
    } catch {
      // A value the Fetch API refuses (Node's parser is laxer): drop that header, keep the request.
    }
  }
  headers.set("x-request-id", requestId);
  const forwardedFor = String(req.headers["x-forwarded-for"] ?? "");
  const peer = req.socket?.remoteAddress;
  if (peer) headers.set("x-forwarded-for", forwardedFor ? `${forwardedFor}, ${peer}` : peer);
  const host = req.headers[":authority"] ?? req.headers.host;
  if (typeof host === "string" && !headers.has("x-forwarded-host")) headers.set("x-forwarded-host", host);
  if (!headers.has("x-forwarded-proto")) headers.set("x-forwarded-proto", "http");
  return headers;
}

/**
 * RPC response metadata as HTTP response headers: headers then trailers (a REST response has no trailers
 * once the body is JSON), without protocol and framing headers.
 */
export function metadataHeaders(...sources: ReadonlyArray<Headers | undefined>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const source of sources) {
    source?.forEach((value, name) => {
      if (hopByHop.has(name) || notReturned.has(name) || isProtocolHeader(name)) return;
      (out[name] ??= []).push(value);
    });
  }
  return out;
}
