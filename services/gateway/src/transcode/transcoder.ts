import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { DescMethod, DescMethodServerStreaming, DescMethodUnary, DescService, Message, Registry } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type Transport } from "@connectrpc/connect";
import { context, propagation, type TextMapSetter } from "@opentelemetry/api";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { invalidArgument, toConnectError } from "../../../../lib/errors/connect-errors.ts";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import type { HttpRequest, HttpResponse } from "../../../../lib/server/http-exchange.ts";
import { requestedTimeoutMs, upstreamTimeoutMs, type DeadlinePolicy } from "./deadline.ts";
import { metadataHeaders, requestIdOf, upstreamHeaders } from "./headers.ts";
import { httpError } from "./http-error.ts";
import { buildRequest } from "./request-builder.ts";
import { encodeResponse } from "./response-body.ts";
import { isFinished, writeBody, writeRestError } from "./rest-response.ts";
import type { RouteTable } from "./route-table.ts";
import { restRouteKey } from "./resilient-transport.ts";
import { inRestSpan, type RestSpan } from "./rest-span.ts";
import { streamFormatOf, writeServerStream } from "./stream-writer.ts";

export interface TranscoderOptions {
  routes: RouteTable;
  /** The transport to an upstream serving `service`, picked per call; undefined when none does. */
  transportFor(service: DescService): Transport | undefined;
  /** Every message type a body or an error detail may hold (google.protobuf.Any, google.rpc details). */
  registry: Registry;
  /**
   * Services whose `/<service>/<method>` paths belong to Connect, gRPC and gRPC-Web (the proxied ones and
   * the gateway's own): those requests are left to the next handler whatever their content type.
   */
  isRpcService(typeName: string): boolean;
  logger: Logger;
  /** Largest request body, in bytes; larger ones get 413. @default 4 MiB */
  maxBodyBytes?: number;
  /** @default "reject" (400) */
  unknownQueryParams?: "reject" | "ignore";
  /** @default "reject" (400) */
  unknownJsonFields?: "reject" | "ignore";
  /** @default 30 s for unary calls without a deadline, 5 min at most for any call */
  deadline?: DeadlinePolicy;
  /** Write fields holding default values. @default false */
  emitDefaults?: boolean;
  /** The OpenAPI document served at `GET /openapi.json`, built on first request. */
  openApi?: () => object;
  /**
   * Throws (Unauthenticated, PermissionDenied) when the request's caller may not call the route's method;
   * runs after the route matched, before the body is read.
   */
  authorize?: (req: HttpRequest, method: DescMethod) => void;
}

const headerSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const procedurePath = /^\/([A-Za-z_][\w.]*)\/[A-Za-z_]\w*$/;

/** True for requests that speak an RPC protocol: they go to the pass-through or the gateway's own router. */
export function isRpcRequest(req: HttpRequest, path: string, isRpcService: (name: string) => boolean): boolean {
  const service = procedurePath.exec(path)?.[1];
  if (service === undefined) return false;
  if (isRpcService(service)) return true;
  const contentType = String(req.headers["content-type"] ?? "");
  return (
    contentType.startsWith("application/grpc") ||
    contentType.startsWith("application/connect+") ||
    req.headers["connect-protocol-version"] !== undefined
  );
}

/**
 * The REST side of the gateway, as an `httpHandlers` entry of the mesh server, tried before the
 * pass-through: it serves every request that is not an RPC of a known service. A request that matches a
 * `google.api.http` route becomes an RPC to an upstream (Connect or gRPC over the upstream's HTTP/2
 * session), and its response or error becomes JSON; anything else gets a 404 or 405 with the same
 * google.rpc.Status body. It never throws: every failure is answered.
 */
export function createTranscoder(options: TranscoderOptions) {
  const { routes, registry, logger } = options;
  const maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const deadline = options.deadline ?? { defaultMs: 30_000, maxMs: 300_000 };
  const buildOptions = {
    registry,
    unknownQueryParams: options.unknownQueryParams ?? "reject",
    unknownJsonFields: options.unknownJsonFields ?? "reject",
  };
  const jsonSettings = { registry, emitDefaults: options.emitDefaults ?? false };
  let openApiText: string | undefined;

  async function serve(req: HttpRequest, res: HttpResponse, path: string, query: string, requestId: string, span: RestSpan): Promise<void> {
    const method = req.method ?? "GET";
    if (path === "/openapi.json" && options.openApi && (method === "GET" || method === "HEAD")) {
      openApiText ??= JSON.stringify(options.openApi());
      writeBody(res, 200, "application/json", openApiText, { "cache-control": "no-cache" }, requestId);
      return;
    }
    const match = routes.match(method, path);
    if (match.kind === "not-found") throw httpError(404, Code.NotFound, `no route for ${method} ${shorten(path)}`);
    if (match.kind === "method-not-allowed") {
      throw httpError(405, Code.Unimplemented, `${method} is not allowed on ${shorten(path)}; use ${match.allow.join(", ")}`, {
        allow: match.allow.join(", "),
      });
    }
    if (match.kind === "bad-path") throw invalidArgument("path", "the path has a malformed percent-encoding or is not UTF-8");
    const { route } = match;
    span.route(route.label);
    options.authorize?.(req, route.method);
    const transport = options.transportFor(route.service);
    if (!transport) throw new ConnectError(`no upstream serves ${route.service.typeName}`, Code.Unavailable);

    const body = isWithoutBody(req) ? noBody : await readBody(req, maxBodyBytes);
    const contentType = req.headers["content-type"];
    const input = buildRequest(route, { pathValues: match.values, query, body, contentType }, buildOptions);
    const streaming = route.method.methodKind === "server_streaming";
    const timeoutMs = upstreamTimeoutMs(requestedTimeoutMs(req.headers), streaming, deadline);
    const headers = upstreamHeaders(req, requestId);
    // The upstream's spans continue the REST span (no-op without an OpenTelemetry SDK: the caller's
    // traceparent then passes as it came).
    propagation.inject(context.active(), headers, headerSetter);
    // A client that goes away cancels the upstream call. Not after a complete answer: aborting costs a
    // DOMException and a ConnectError per request.
    const abort = new AbortController();
    res.once("close", () => {
      if (!(res as ServerResponse).writableFinished) abort.abort();
    });

    const rpc = route.method;
    const contextValues = createContextValues().set(restRouteKey, route.label);
    if (rpc.methodKind === "unary") {
      const response = await transport.unary(rpc as DescMethodUnary, abort.signal, timeoutMs, headers, input, contextValues);
      const encoded = encodeResponse(route, response.message as Message, jsonSettings);
      writeBody(res, 200, encoded.contentType, encoded.body, metadataHeaders(response.header, response.trailer), requestId);
      return;
    }
    if (rpc.methodKind === "server_streaming") {
      const response = await transport.stream(rpc as DescMethodServerStreaming, abort.signal, timeoutMs, headers, createAsyncIterable([input]), contextValues);
      const accept = req.headers.accept;
      await writeServerStream(res, route, response, { ...jsonSettings, requestId, format: streamFormatOf(accept) });
    }
  }

  return function transcode(req: HttpRequest, res: HttpResponse): boolean {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    if (isRpcRequest(req, path, options.isRpcService)) return false;
    const requestId = requestIdOf(req.headers);
    void inRestSpan(req.headers, req.method ?? "GET", requestId, async (span) => {
      try {
        if (!path.startsWith("/")) throw httpError(404, Code.NotFound, "the request target must be a path starting with /");
        await serve(req, res, path, q < 0 ? "" : url.slice(q + 1), requestId, span);
      } catch (err) {
        let error = toConnectError(err);
        if (error.code === Code.Internal || error.code === Code.Unknown) {
          logger.warn({ err: error.cause ?? error, method: req.method, path: shorten(path) }, "REST request failed");
        }
        if (error.code === Code.Unavailable && error.cause !== undefined) {
          // The connection failed here, not in the upstream: its address and errno stay in the log.
          logger.warn({ err: error.cause, path: shorten(path) }, "upstream unreachable");
          error = new ConnectError("no upstream instance is reachable; retry later", Code.Unavailable);
        }
        try {
          if (!isFinished(res)) writeRestError(req, res, error, requestId, registry);
        } catch (writeErr) {
          logger.error({ err: writeErr }, "could not write a REST error");
          (res as ServerResponse).destroy();
        }
      }
      span.status((res as { statusCode?: number }).statusCode ?? 0);
    });
    return true;
  };
}

function shorten(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

const noBody = new Uint8Array(0);

/**
 * A request known to have no body (a GET, usually), so there is nothing to wait for: over HTTP/1.1 its parser
 * finished it without any body data before the transcoder runs (Node drops its end when the response ends);
 * over HTTP/2 its HEADERS frame ended the stream.
 */
function isWithoutBody(req: HttpRequest): boolean {
  if (req.httpVersionMajor === 1) return (req as IncomingMessage).complete && req.readableLength === 0;
  return (req as Http2ServerRequest).stream.endAfterHeaders;
}

/** Past the limit, a body this much larger is still read and dropped, so the connection stays usable. */
const drainBytes = 1024 * 1024;

/**
 * Reads the request body, refusing more than `maxBytes` with 413. A body up to `drainBytes` over the limit
 * is read to its end and dropped, so the 413 reaches the client cleanly and an HTTP/1.1 connection can be
 * reused (closing a socket with unread data resets it, which can lose the response). A larger one is
 * refused at once, from Content-Length when it says so, and the connection is closed after the answer.
 */
function readBody(req: HttpRequest, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = (drained: boolean) =>
    httpError(413, Code.ResourceExhausted, `the request body is larger than ${maxBytes} bytes`, {}, !drained);
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes + drainBytes) return Promise.reject(tooLarge(false));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes + drainBytes) {
        cleanup();
        req.pause();
        reject(tooLarge(false));
      } else if (size <= maxBytes) {
        chunks.push(chunk);
      }
    };
    const onEnd = () => {
      cleanup();
      if (size > maxBytes) reject(tooLarge(true));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = () => {
      cleanup();
      reject(new ConnectError("the client went away while sending the body", Code.Canceled));
    };
    const onClose = () => {
      if (!req.readableEnded) onError();
    };
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
    req.once("close", onClose);
  });
}
