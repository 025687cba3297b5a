import http2 from "node:http2";
import { Code } from "@connectrpc/connect";
import type { Logger } from "../../../lib/logging/create-logger.ts";
import type { HttpRequest, HttpResponse } from "../../../lib/server/mesh-server.ts";
import { writeRpcError } from "../../../lib/server/rpc-error-response.ts";
import type { Upstream } from "./upstream.ts";

/** Headers that belong to one connection and are never forwarded (RFC 9110 §7.6.1, RFC 9113 §8.2.2). */
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
  "http2-settings",
  "te",
]);

function forwardable(headers: http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(":") || hopByHop.has(name)) continue;
    out[name] = value;
  }
  return out;
}

export interface PassThroughOptions {
  /** Picks the upstream for a fully-qualified RPC service name; services not in the map are not proxied. */
  routes: ReadonlyMap<string, () => Upstream>;
  logger: Logger;
}

/** `/package.Service/Method` → `package.Service`, or undefined for any other path. */
export function rpcServiceOf(url: string | undefined): string | undefined {
  const path = (url ?? "").split("?")[0]!;
  return /^\/([A-Za-z_][\w.]*)\/[A-Za-z_]\w*$/.exec(path)?.[1];
}

/**
 * Proxies Connect, gRPC and gRPC-Web calls byte for byte: when client and upstream speak the same protocol
 * there is nothing to translate. Headers (deadlines, trace context, metadata) and trailers pass through; a
 * caller that goes away cancels the upstream stream.
 */
export function createPassThrough(options: PassThroughOptions) {
  const { routes, logger } = options;
  return function passThrough(req: HttpRequest, res: HttpResponse): boolean {
    const service = rpcServiceOf(req.url);
    const pick = service === undefined ? undefined : routes.get(service);
    if (!pick) return false;
    const upstream = pick();
    const headers = forwardable(req.headers);
    headers[":method"] = req.method ?? "POST";
    headers[":path"] = req.url ?? "/";
    if (String(req.headers["content-type"] ?? "").startsWith("application/grpc")) headers.te = "trailers";

    let stream: http2.ClientHttp2Stream;
    try {
      stream = upstream.session().request(headers);
    } catch (err) {
      logger.warn({ err, upstream: upstream.url }, "upstream request failed");
      writeRpcError(req, res, Code.Unavailable, "no upstream instance is reachable");
      return true;
    }
    const out = res as import("node:http").ServerResponse;
    stream.on("response", (responseHeaders) => {
      const status = Number(responseHeaders[":status"] ?? 502);
      out.writeHead(status, forwardable(responseHeaders) as import("node:http").OutgoingHttpHeaders);
    });
    stream.on("trailers", (trailers) => {
      out.addTrailers(forwardable(trailers) as import("node:http").OutgoingHttpHeaders);
    });
    stream.on("data", (chunk: Buffer) => out.write(chunk));
    // An upstream that dies mid-call ends its stream without a response (or resets it after one): the caller
    // must hear Unavailable in its protocol, not an empty 200 or a clean end of a half answer.
    const endWithoutAnswer = () => {
      if (!out.headersSent) writeRpcError(req, res, Code.Unavailable, "the upstream instance went away before answering");
      else if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) out.destroy();
      else out.end();
    };
    stream.on("end", endWithoutAnswer);
    stream.on("close", () => {
      if (!out.writableEnded) endWithoutAnswer();
    });
    stream.on("error", (err) => {
      logger.warn({ err: { message: err.message }, upstream: upstream.url }, "upstream stream failed");
      if (!out.headersSent) writeRpcError(req, res, Code.Unavailable, "the upstream instance is unreachable");
      else out.destroy();
    });
    req.on("data", (chunk: Buffer) => {
      if (!stream.write(chunk)) {
        req.pause();
        stream.once("drain", () => req.resume());
      }
    });
    req.on("end", () => stream.end());
    out.on("close", () => {
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    });
    return true;
  };
}
