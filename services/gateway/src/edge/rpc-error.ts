import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { Code, type ConnectError } from "@connectrpc/connect";
import { writeGrpcTrailersOnly } from "../../../../lib/server/grpc-trailers-only.ts";
import type { HttpRequest, HttpResponse } from "../../../../lib/server/http-exchange.ts";
import { httpStatusOf } from "../../../../lib/errors/http-status.ts";
import { codeLabel } from "../resilience/gateway-metrics.ts";


/**
 * Answers an RPC with the gateway's own error in the caller's protocol (trailers-only for gRPC and
 * gRPC-Web, an end-stream message for Connect streams, JSON with Connect's HTTP status for Connect unary),
 * with extra response headers such as Retry-After or WWW-Authenticate.
 */
export function writeRpcError(req: HttpRequest, res: HttpResponse, error: ConnectError, headers: OutgoingHttpHeaders = {}): void {
  const out = res as ServerResponse;
  if (out.writableEnded || out.destroyed) return;
  if (out.headersSent) {
    out.destroy();
    return;
  }
  const contentType = String(req.headers["content-type"] ?? "");
  const message = error.rawMessage;
  if (contentType.startsWith("application/grpc")) {
    writeGrpcTrailersOnly(res, { ...headers, "content-type": contentType, "grpc-status": String(error.code), "grpc-message": encodeURIComponent(message) });
    return;
  }
  const body = JSON.stringify({ code: codeLabel(error.code), message });
  if (contentType.startsWith("application/connect+")) {
    const json = Buffer.from(JSON.stringify({ error: JSON.parse(body) as unknown }));
    const frame = Buffer.alloc(5);
    frame.writeUInt8(0b10, 0);
    frame.writeUInt32BE(json.length, 1);
    out.writeHead(200, { ...headers, "content-type": contentType });
    out.end(Buffer.concat([frame, json]));
    return;
  }
  out.writeHead(httpStatusOf(error.code), { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  out.end(body);
}
