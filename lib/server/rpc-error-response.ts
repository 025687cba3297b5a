import { Code } from "@connectrpc/connect";
import { httpStatusOf } from "../errors/http-status.ts";
import { writeGrpcTrailersOnly } from "./grpc-trailers-only.ts";
import type { HttpRequest, HttpResponse } from "./http-exchange.ts";

function codeName(code: Code): string {
  return Code[code]!.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
}

/**
 * Answers an RPC with an error in the caller's own protocol, for failures of the gateway itself (no upstream
 * reachable): trailers-only for gRPC and gRPC-Web, an end-stream message for Connect streaming, and a JSON
 * error with the mapped HTTP status for Connect unary.
 */
export function writeRpcError(req: HttpRequest, res: HttpResponse, code: Code, message: string): void {
  const out = res as import("node:http").ServerResponse;
  if (out.headersSent) {
    out.destroy();
    return;
  }
  const contentType = String(req.headers["content-type"] ?? "");
  if (contentType.startsWith("application/grpc")) {
    writeGrpcTrailersOnly(res, { "content-type": contentType, "grpc-status": String(code), "grpc-message": encodeURIComponent(message) });
    return;
  }
  const error = { code: codeName(code), message };
  if (contentType.startsWith("application/connect+")) {
    const body = Buffer.from(JSON.stringify({ error }));
    const frame = Buffer.alloc(5);
    frame.writeUInt8(0b10, 0);
    frame.writeUInt32BE(body.length, 1);
    out.writeHead(200, { "content-type": contentType });
    out.end(Buffer.concat([frame, body]));
    return;
  }
  const json = JSON.stringify(error);
  out.writeHead(httpStatusOf(code), { "content-type": "application/json" });
  out.end(json);
}
