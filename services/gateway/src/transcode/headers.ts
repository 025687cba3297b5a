import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Transport } from "@connectrpc/connect";
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

/** Request headers never forwarded, whatever the request says. */
const dropped = new Set([...hopByHop, ...notForwarded]);

/** Characters Node's HTTP/2 client refuses in a header value (its own check): such a header is dropped. */
const invalidValueChar = /[^\t\x20-\x7e\x80-\xff]/;

const requestIdPattern = /^[\x21-\x7e]{1,200}$/;

/** The caller's `X-Request-Id` when it is a sane token (printable ASCII, at most 200), else a new UUID. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers["x-request-id"];
  return typeof given === "string" && requestIdPattern.test(given) ? given : randomUUID();
}

function isProtocolHeader(name: string): boolean {
  return name.startsWith("grpc-") || name.startsWith("connect-") || name.startsWith(":");
}

/** Response metadata never returned, whatever its value. */
const withheld = new Set([...hopByHop, ...notReturned]);

/** Whether RPC metadata of this name may become a header of a REST response (see metadataHeaders). */
export function isReturnedMetadata(name: string): boolean {
  return !withheld.has(name) && !isProtocolHeader(name);
}

/** The header names a `Connection` header lists: hop-by-hop too. */
function connectionListed(value: string): Set<string> {
  return new Set(
    value
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s !== ""),
  );
}

/**
 * The headers sent upstream: everything end-to-end the client sent (Authorization, traceparent/tracestate,
 * Idempotency-Key, custom metadata) except what is listed above, plus `x-request-id` and the
 * `x-forwarded-*` trio. Headers a `Connection` header names are hop-by-hop too. A plain record (names in
 * lower case, as Node gives them), not a Fetch `Headers`: it is copied into each attempt's HTTP/2 request,
 * and a `Headers` would validate and sort every name again on the way.
 */
export function upstreamHeaders(req: HttpRequest, requestId: string): Record<string, string> {
  const source = req.headers;
  const headers: Record<string, string> = {};
  const connection = source.connection;
  // `keep-alive` is hop-by-hop already: the common value needs no parsing.
  const listed = connection === undefined || connection === "keep-alive" ? undefined : connectionListed(String(connection));
  for (const name in source) {
    const value = source[name];
    if (value === undefined || dropped.has(name) || isProtocolHeader(name) || listed?.has(name)) continue;
    const text = Array.isArray(value) ? value.join(", ") : value;
    // A value the upstream request would refuse (Node's HTTP/1.1 parser is laxer): drop that header, keep the request.
    if (invalidValueChar.test(text)) continue;
    headers[name] = text;
  }
  headers["x-request-id"] = requestId;
  const forwardedFor = String(source["x-forwarded-for"] ?? "");
  const peer = req.socket?.remoteAddress;
  if (peer) headers["x-forwarded-for"] = forwardedFor ? `${forwardedFor}, ${peer}` : peer;
  const host = source[":authority"] ?? source.host;
  if (typeof host === "string" && headers["x-forwarded-host"] === undefined) headers["x-forwarded-host"] = host;
  headers["x-forwarded-proto"] ??= "http";
  return headers;
}

/** Request metadata in the forms a Transport takes: `Headers`, a record, or name-value pairs. */
type HeadersInit = NonNullable<Parameters<Transport["unary"]>[3]>;

const upperCase = /[A-Z]/;

/**
 * Request metadata in any form a Transport takes, as a plain record with names in lower case (combined
 * values, as `Headers` reads them). A record already in that form is returned as it is, not copied.
 */
export function headerRecord(init: HeadersInit | undefined): Readonly<Record<string, string>> {
  if (init === undefined) return {};
  if (!(init instanceof Headers) && !Array.isArray(init)) {
    let lowerCase = true;
    for (const name in init) {
      if (upperCase.test(name)) {
        lowerCase = false;
        break;
      }
    }
    if (lowerCase) return init;
  }
  const out: Record<string, string> = {};
  (init instanceof Headers ? init : new Headers(init)).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/**
 * RPC response metadata as HTTP response headers: headers then trailers (a REST response has no trailers
 * once the body is JSON), without protocol and framing headers.
 */
export function metadataHeaders(...sources: ReadonlyArray<Headers | undefined>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const source of sources) {
    source?.forEach((value, name) => {
      if (!isReturnedMetadata(name)) return;
      (out[name] ??= []).push(value);
    });
  }
  return out;
}
