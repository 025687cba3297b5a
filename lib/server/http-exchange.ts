import type http from "node:http";
import type http2 from "node:http2";
import type { connectNodeAdapter } from "@connectrpc/connect-node";

/** A request on the mesh server's port: HTTP/1.1 or HTTP/2. */
export type HttpRequest = http.IncomingMessage | http2.Http2ServerRequest;
/** The response type connect-node handlers take: HTTP/1.1 or HTTP/2. */
export type HttpResponse = Parameters<ReturnType<typeof connectNodeAdapter>>[1];
