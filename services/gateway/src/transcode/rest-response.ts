import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Registry } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import type { HttpRequest, HttpResponse } from "../../../../lib/server/http-exchange.ts";
import { metadataHeaders } from "./headers.ts";
import { httpStatusOf, isHttpStatusError } from "./http-error.ts";
import { statusJson } from "./status-json.ts";

/** True once the client is gone or the response is complete: nothing more can be written. */
export function isFinished(res: HttpResponse): boolean {
  const out = res as ServerResponse;
  return out.writableEnded || out.destroyed;
}

/**
 * Writes status and headers. A header value Node refuses (from upstream metadata) must not lose the
 * response: the head is then written with the essential headers only.
 */
export function writeHead(res: HttpResponse, status: number, headers: OutgoingHttpHeaders, essential: OutgoingHttpHeaders): void {
  const out = res as ServerResponse;
  try {
    out.writeHead(status, { ...headers, ...essential });
  } catch {
    for (const name of out.getHeaderNames()) out.removeHeader(name);
    out.writeHead(status, essential);
  }
}

/** A whole response with a body. */
export function writeBody(
  res: HttpResponse,
  status: number,
  contentType: string,
  body: string | Uint8Array,
  headers: OutgoingHttpHeaders,
  requestId: string,
): void {
  if (isFinished(res)) return;
  const length = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
  writeHead(res, status, headers, { "content-type": contentType, "content-length": length, "x-request-id": requestId });
  (res as ServerResponse).end(body);
}

/**
 * An error as HTTP: the mapped status, the error's metadata and extra headers (`Allow`), and a
 * google.rpc.Status JSON body carrying the request id, which is also the `X-Request-Id` header. After an
 * HTTP/1.1 request body was refused unread, the connection is closed.
 */
export function writeRestError(req: HttpRequest, res: HttpResponse, err: ConnectError, requestId: string, registry: Registry): void {
  if (isFinished(res)) return;
  if ((res as ServerResponse).headersSent) {
    (res as ServerResponse).destroy();
    return;
  }
  const status = httpStatusOf(err);
  const headers: OutgoingHttpHeaders = { ...metadataHeaders(err.metadata) };
  if (isHttpStatusError(err)) {
    Object.assign(headers, err.httpHeaders);
    if (err.closeConnection && req.httpVersionMajor === 1) headers.connection = "close";
  }
  writeBody(res, status, "application/json", JSON.stringify(statusJson(err, requestId, registry)), headers, requestId);
}
