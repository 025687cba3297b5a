import type http2 from "node:http2";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import type { Upstream } from "../upstream.ts";
import { basePath, grpcUnaryCall } from "./grpc-unary-call.ts";
import { headerRecord } from "./headers.ts";

export type UpstreamProtocol = "grpc" | "connect";

/**
 * The transport REST calls take to an upstream, over the upstream's own HTTP/2 session, the one the
 * pass-through uses: one connection per upstream for both, and the upstream's reconnect logic. Messages
 * travel in the binary format; the JSON is the gateway's business.
 * - gRPC: unary calls, one per REST request, go through grpcUnaryCall, which costs a fraction of a Connect
 *   transport's CPU; server streams through connect-node's gRPC transport.
 * - Connect: connect-node's Connect transport for both.
 */
export function createUpstreamTransport(upstream: Upstream, protocol: UpstreamProtocol): Transport {
  const sessionManager = {
    authority: new URL(upstream.url).origin,
    async request(method: string, path: string, headers: http2.OutgoingHttpHeaders, options: http2.ClientSessionRequestOptions) {
      const all = { ...headers, ":method": method, ":path": path };
      const session = upstream.session();
      try {
        return session.request(all, options);
      } catch (err) {
        // A session that got GOAWAY refuses new streams: once more on a fresh one.
        if (!session.closed && !session.destroyed) throw err;
        upstream.close();
        return upstream.session().request(all, options);
      }
    },
    notifyResponseByteRead() {},
  };
  if (protocol === "connect") {
    const connect = createConnectTransport({ baseUrl: upstream.url, httpVersion: "2", sessionManager, useBinaryFormat: true });
    return {
      unary: (method, signal, timeoutMs, header, input, contextValues) =>
        connect.unary(method, signal, timeoutMs, header, input, contextValues).catch((err: unknown) => rethrowUpstreamCancel(err, signal)),
      stream: (method, signal, timeoutMs, header, input, contextValues) =>
        connect.stream(method, signal, timeoutMs, header, input, contextValues).catch((err: unknown) => rethrowUpstreamCancel(err, signal)),
    };
  }
  const grpc = createGrpcTransport({ baseUrl: upstream.url, sessionManager });
  const pathPrefix = basePath(upstream.url);
  return {
    // grpcUnaryCall only reads the headers: a record made for this attempt needs no copy.
    unary: (method, signal, timeoutMs, header, input) => grpcUnaryCall(upstream, pathPrefix, method, signal, timeoutMs, headerRecord(header), input),
    stream: (method, signal, timeoutMs, header, input, contextValues) =>
      grpc.stream(method, signal, timeoutMs, header, input, contextValues).catch((err: unknown) => rethrowUpstreamCancel(err, signal)),
  };
}

/**
 * connect-node reports a call its caller did not cancel but that was cut on the upstream's side (its
 * connection died: a killed process resets it and Node closes the streams with CANCEL) as Canceled. For the
 * caller that is the upstream failing, so Unavailable, which the call runner may retry on another instance, as
 * Envoy answers a remote reset with 503 (grpcUnaryCall maps it so itself). A cancellation the caller made
 * stays Canceled, and so does a CANCELLED status the upstream sent (connect-es marks those `isWireError`).
 */
function rethrowUpstreamCancel(err: unknown, signal: AbortSignal | undefined): never {
  const error = ConnectError.from(err);
  if (error.code !== Code.Canceled || signal?.aborted || error.isWireError) throw err;
  throw new ConnectError("the upstream instance went away before answering", Code.Unavailable, undefined, undefined, err);
}
