import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { Duplex } from "node:stream";
import { Code, createMethodImplSpec, createServiceImplSpec, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import type { Registry } from "prom-client";
import type { Logger } from "../logging/create-logger.ts";
import { InfraError } from "../infra/infra-error.ts";
import { createConnectUnaryFastPath } from "./connect-unary-fast-path.ts";
import { createGrpcUnaryFastPath } from "./grpc-unary-fast-path.ts";
import { parseErrorsAsInvalidArgument } from "./parse-errors-as-invalid-argument.ts";
import { writeRpcError } from "./rpc-error-response.ts";
import type { HttpRequest, HttpResponse } from "./http-exchange.ts";
import type { UnarySpec } from "./unary-call.ts";

export interface MeshServerOptions {
  /** Registers the RPC services. */
  routes: (router: ConnectRouter) => void;
  /** Interceptors for every RPC, outermost first. */
  interceptors?: Interceptor[];
  /** Address to listen on. @default "127.0.0.1" */
  host?: string;
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  logger: Logger;
  /** Served as Prometheus text at `GET /metrics` when given. */
  metrics?: Registry;
  /** Largest request message accepted, in bytes. @default 4 MiB */
  readMaxBytes?: number;
  /**
   * Extra plain-HTTP handlers tried before the RPC router (dashboards, transcoding). Return true when the
   * request was handled.
   */
  httpHandlers?: ReadonlyArray<(req: HttpRequest, res: HttpResponse) => boolean | Promise<boolean>>;
}


export interface MeshServer {
  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number>;
  /** The bound port (after listen). */
  readonly port: number;
  /** Base URL, such as http://127.0.0.1:4001. */
  readonly url: string;
  /** Calls being handled now. */
  readonly inFlight: number;
  /**
   * Stops accepting connections, lets in-flight calls finish for up to `graceMs`, then closes whatever is
   * left. Resolves with the number of calls that had to be cut off.
   */
  close(graceMs: number): Promise<number>;
}

const h2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function isHttp2Preface(chunk: Buffer): boolean {
  const n = Math.min(chunk.length, h2Preface.length);
  return chunk.subarray(0, n).equals(h2Preface.subarray(0, n));
}

/**
 * One port for Connect, gRPC and gRPC-Web over HTTP/2 cleartext (prior knowledge) and HTTP/1.1. Node's
 * http2 server cannot downgrade cleartext connections itself, so the first bytes of each connection decide:
 * the HTTP/2 preface goes to an http2 server, anything else to an http server, both with one handler.
 */
export function createMeshServer(options: MeshServerOptions): MeshServer {
  const { logger } = options;
  const host = options.host ?? "127.0.0.1";
  const readMaxBytes = options.readMaxBytes ?? 4 * 1024 * 1024;
  const unaryMethods = new Map<string, UnarySpec>();
  const rpcHandler = connectNodeAdapter({
    routes(router) {
      options.routes(recordUnaryMethods(router, unaryMethods));
      // The adapter maps paths to router.handlers after this callback returns.
      const handlers = router.handlers as UniversalHandler[];
      for (const [i, handler] of handlers.entries()) handlers[i] = parseErrorsAsInvalidArgument(handler);
    },
    interceptors: options.interceptors ?? [],
    readMaxBytes,
    fallback: notFound,
  });
  const fastPathOptions = {
    methods: unaryMethods,
    interceptors: options.interceptors ?? [],
    readMaxBytes,
    onError: (err: unknown) => logger.error({ err }, "rpc response could not be written"),
  };
  const grpcUnary = createGrpcUnaryFastPath(fastPathOptions);
  const connectUnary = createConnectUnaryFastPath(fastPathOptions);
  let inFlight = 0;
  let closing = false;

  const callClosed = () => inFlight--;

  async function handle(req: HttpRequest, res: HttpResponse): Promise<void> {
    inFlight++;
    res.once("close", callClosed);
    try {
      if (options.metrics && req.method === "GET" && (req.url === "/metrics" || req.url?.startsWith("/metrics?"))) {
        sendText(res, 200, options.metrics.contentType, await options.metrics.metrics());
        return;
      }
      for (const handler of options.httpHandlers ?? []) {
        if (await handler(req, res)) return;
      }
      if (closing && "setHeader" in res && req.httpVersionMajor === 1) res.setHeader("connection", "close");
      // Unary calls in gRPC's and Connect's common forms skip connect-es's generic pipeline; the rest goes to it.
      if (req.httpVersionMajor === 2 && grpcUnary((req as http2.Http2ServerRequest).stream, req.headers, res as http2.Http2ServerResponse)) return;
      if (connectUnary(req, res as http.ServerResponse)) return;
      rpcHandler(req, res);
    } catch (err) {
      logger.error({ err }, "http handler failed");
      if (!res.headersSent) {
        sendText(res, 500, "application/json", JSON.stringify({ code: "internal", message: "internal error" }));
      } else {
        res.destroy();
      }
    }
  }

  /**
   * HTTP/2 streams: without plain-HTTP handlers to try first, unary gRPC calls are answered on the stream
   * itself; the rest gets Node's compatibility request and response, made here as the server makes them for
   * a request listener (which this server has not, so that the fast path does not pay for objects it does
   * not use).
   */
  const streamFirst = (options.httpHandlers ?? []).length === 0;
  function onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]): void {
    if (streamFirst) {
      inFlight++;
      stream.once("close", callClosed);
      try {
        if (grpcUnary(stream, headers)) return;
      } catch (err) {
        logger.error({ err }, "http2 stream handler failed");
        stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        return;
      }
      // Counted once: handle() counts the call again.
      inFlight--;
      stream.off("close", callClosed);
    }
    const req = new http2.Http2ServerRequest(stream, headers, {}, rawHeaders);
    const res = new http2.Http2ServerResponse(stream);
    if (headers[":method"] === "CONNECT") {
      res.statusCode = 405;
      res.end();
      return;
    }
    if (headers.expect !== undefined) {
      if (headers.expect !== "100-continue") {
        res.statusCode = 417;
        res.end();
        return;
      }
      res.writeContinue();
    }
    void handle(req, res as HttpResponse);
  }
  const h2 = http2.createServer({});
  h2.on("stream", onStream);
  const h1 = http.createServer((req, res) => void handle(req, res));
  h1.keepAliveTimeout = 65_000;
  const sessions = new Set<http2.ServerHttp2Session>();
  const h1Sockets = new Set<Duplex>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (closing) session.close();
  });
  h2.on("sessionError", (err) => logger.debug({ err }, "http2 session error"));

  // Small RPC frames must not wait for delayed ACKs (Nagle's algorithm adds ~40 ms per round trip).
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    socket.on("error", (err) => logger.debug({ err }, "connection error"));
    socket.once("data", (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      if (isHttp2Preface(chunk)) {
        h2.emit("connection", socket);
      } else {
        h1Sockets.add(socket);
        socket.once("close", () => h1Sockets.delete(socket));
        h1.emit("connection", socket);
        // The http parser reads with 'data' events; the http2 session reads the buffer itself.
        socket.resume();
      }
    });
  });

  let port = 0;
  return {
    get port() {
      return port;
    },
    get url() {
      return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    },
    get inFlight() {
      return inFlight;
    },
    listen() {
      return new Promise<number>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => {
          if (err.code === "EADDRINUSE") {
            reject(
              new InfraError(
                "PORT_IN_USE",
                `port ${options.port} on ${host} is already in use`,
                `stop the process that holds it (\`lsof -i :${options.port}\`) or choose another port with PORT=`,
              ),
            );
          } else reject(err);
        };
        tcp.once("error", onError);
        tcp.listen(options.port ?? 0, host, () => {
          tcp.off("error", onError);
          port = (tcp.address() as net.AddressInfo).port;
          resolve(port);
        });
      });
    },
    async close(graceMs) {
      closing = true;
      const stopped = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const session of sessions) session.close();
      h1.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        h1.closeIdleConnections();
      }
      const cut = inFlight;
      for (const session of sessions) session.destroy();
      for (const socket of h1Sockets) socket.destroy();
      await stopped;
      return cut;
    },
  };
}

/**
 * The router as the routes callback sees it, noting each unary method registered without options of its own,
 * for the gRPC fast path. Methods with their own options are served by connect-es alone.
 */
function recordUnaryMethods(router: ConnectRouter, into: Map<string, UnarySpec>): ConnectRouter {
  const note = (spec: { kind: string; method: { parent: { typeName: string }; name: string } }) => {
    if (spec.kind === "unary") into.set(`/${spec.method.parent.typeName}/${spec.method.name}`, spec as UnarySpec);
  };
  const recorder = {
    get handlers() {
      return router.handlers;
    },
    service(service, implementation, handlerOptions) {
      router.service(service, implementation, handlerOptions);
      if (handlerOptions === undefined) for (const spec of Object.values(createServiceImplSpec(service, implementation).methods)) note(spec);
      return recorder;
    },
    rpc(method, impl, handlerOptions) {
      router.rpc(method, impl, handlerOptions);
      if (handlerOptions === undefined) note(createMethodImplSpec(method, impl));
      return recorder;
    },
  } as ConnectRouter;
  return recorder;
}

/** Unknown RPCs get UNIMPLEMENTED in the caller's protocol; other paths a plain 404. */
function notFound(req: HttpRequest, res: HttpResponse): void {
  const path = (req.url ?? "").split("?")[0]!;
  if (/^\/[\w.]+\/\w+$/.test(path)) {
    writeRpcError(req, res, Code.Unimplemented, `${path.slice(1)} is not served here`);
    return;
  }
  sendText(res, 404, "application/json", JSON.stringify({ code: "not_found", message: `no route for ${req.method} ${path}` }));
}

/** Writes a whole response; both HTTP versions' response objects share this shape at run time. */
export function sendText(res: HttpResponse, status: number, contentType: string, body: string): void {
  const out = res as http.ServerResponse;
  out.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  out.end(body);
}
