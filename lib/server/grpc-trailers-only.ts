import type http from "node:http";
import type http2 from "node:http2";
import type { HttpResponse } from "./http-exchange.ts";

/**
 * Ends a gRPC call with a trailers-only response: one HEADERS frame that carries `grpc-status` and ends the
 * stream. Writing the headers and then an empty end (what Node's compatibility API does) sends the HEADERS
 * frame without END_STREAM and then an empty DATA frame: connect-es clients still read the status from the
 * headers, but grpc-js, grpc-go, grpcurl and Java clients see a call that ended without a status (INTERNAL).
 * Over HTTP/1.1 (gRPC-Web) headers and an empty body are all there is.
 */
export function writeGrpcTrailersOnly(res: HttpResponse, headers: http.OutgoingHttpHeaders): void {
  const stream = (res as Partial<http2.Http2ServerResponse>).stream;
  if (stream !== undefined) {
    if (stream.destroyed || stream.headersSent) return;
    stream.respond({ ...(headers as http2.OutgoingHttpHeaders), ":status": 200 }, { endStream: true });
    return;
  }
  const out = res as http.ServerResponse;
  out.writeHead(200, headers);
  out.end();
}
