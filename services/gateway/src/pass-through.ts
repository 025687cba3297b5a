import type { ServerResponse } from "node:http";
import http2 from "node:http2";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { propagation, type TextMapSetter } from "@opentelemetry/api";
import { toConnectError } from "../../../lib/errors/connect-errors.ts";
import type { Logger } from "../../../lib/logging/create-logger.ts";
import type { HttpRequest, HttpResponse } from "../../../lib/server/http-exchange.ts";
import { writeRpcError } from "./edge/rpc-error.ts";
import { inRpcSpan } from "./pass-through/rpc-span.ts";
import { protocolOf, type RpcProtocol } from "./pass-through/rpc-protocol.ts";
import { exchangeStream } from "./pass-through/stream-exchange.ts";
import { exchangeUnary, type BufferedResponse } from "./pass-through/upstream-exchange.ts";
import type { AttemptOutcome } from "./resilience/attempt-outcome.ts";
import type { CallRunner } from "./resilience/call-runner.ts";
import { requestedTimeoutMs } from "./transcode/deadline.ts";
import type { UpstreamDirectory } from "./upstreams/upstream-directory.ts";

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

/** Request headers replaced per attempt: the deadline left for that attempt. */
const deadlineHeaders = new Set(["grpc-timeout", "connect-timeout-ms"]);

export function forwardable(headers: http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(":") || hopByHop.has(name)) continue;
    out[name] = value;
  }
  return out;
}

const headerSetter: TextMapSetter<http2.OutgoingHttpHeaders> = { set: (carrier, key, value) => (carrier[key] = value) };

export interface PassThroughOptions {
  /** The RPC services the pass-through serves; any other path is left to the next handler. */
  services: readonly DescService[];
  directory: Pick<UpstreamDirectory, "poolFor">;
  runner: CallRunner;
  /** Throws Unauthenticated or PermissionDenied for a caller who may not call `method`. */
  authorize(req: HttpRequest, method: DescMethod): void;
  /** Headers the gateway adds to each upstream request to a pool of `service`: its service credential. */
  upstreamHeaders(service: string): Readonly<Record<string, string>>;
  /** Largest request body of a unary call. @default 10 MiB */
  maxBodyBytes?: number;
  /** Largest unary response held for judging. @default 64 MiB */
  maxResponseBytes?: number;
  logger: Logger;
}

/** `/package.Service/Method` → `package.Service`, or undefined for any other path. */
export function rpcServiceOf(url: string | undefined): string | undefined {
  const path = (url ?? "").split("?")[0]!;
  return /^\/([A-Za-z_][\w.]*)\/[A-Za-z_]\w*$/.exec(path)?.[1];
}

/** Reads a whole request body, refusing more than `maxBytes` with ResourceExhausted. */
function readBody(req: HttpRequest, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.pause();
        reject(new ConnectError(`the request body is larger than ${maxBytes} bytes`, Code.ResourceExhausted));
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once("error", () => reject(new ConnectError("the caller went away while sending", Code.Canceled)));
    req.once("close", () => {
      if (!req.readableEnded) reject(new ConnectError("the caller went away while sending", Code.Canceled));
    });
  });
}

function writeBuffered(res: HttpResponse, response: BufferedResponse): void {
  const out = res as ServerResponse;
  if (out.writableEnded || out.destroyed) return;
  out.writeHead(response.status, forwardable(response.headers) as import("node:http").OutgoingHttpHeaders);
  if (response.body.length > 0) out.write(response.body);
  if (response.trailers) out.addTrailers(forwardable(response.trailers) as import("node:http").OutgoingHttpHeaders);
  out.end();
}

/**
 * Proxies Connect, gRPC and gRPC-Web calls byte for byte (when client and upstream speak the same protocol
 * there is nothing to translate) through the same balancing and resilience as the REST side:
 * - unary calls are held whole (request and response), so that an attempt that failed can be judged and
 *   sent again to another instance before the caller sees anything;
 * - streams are piped as they flow: balanced, through the instance's bulkhead and breaker, sent once.
 * Headers (trace context, metadata) and trailers pass through; the deadline sent upstream is what is left
 * for the attempt; a caller that goes away cancels the upstream stream.
 */
export function createPassThrough(options: PassThroughOptions) {
  const { directory, runner, logger } = options;
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const maxResponseBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
  const methods = new Map<string, DescMethod>();
  for (const service of options.services) for (const method of service.methods) methods.set(`/${service.typeName}/${method.name}`, method);

  function attemptHeaders(req: HttpRequest, service: string, protocol: RpcProtocol, timeoutMs: number | undefined): http2.OutgoingHttpHeaders {
    const headers = forwardable(req.headers);
    for (const name of deadlineHeaders) delete headers[name];
    headers[":method"] = req.method ?? "POST";
    headers[":path"] = req.url ?? "/";
    if (protocol === "grpc") headers.te = "trailers";
    if (timeoutMs !== undefined) {
      if (protocol === "connect") headers["connect-timeout-ms"] = String(timeoutMs);
      else headers["grpc-timeout"] = `${Math.min(timeoutMs, 99_999_999)}m`;
    }
    Object.assign(headers, options.upstreamHeaders(service));
    return headers;
  }

  async function serve(req: HttpRequest, res: HttpResponse, rpcService: string, method: DescMethod): Promise<void> {
    options.authorize(req, method);
    const pool = directory.poolFor(rpcService);
    if (!pool) throw new ConnectError(`no instance of ${rpcService} is known`, Code.Unavailable);
    const protocol = protocolOf(req.headers["content-type"]);
    const timeoutMs = requestedTimeoutMs(req.headers);
    const abort = new AbortController();
    res.once("close", () => {
      if (!(res as ServerResponse).writableFinished) abort.abort();
    });
    const unary = method.methodKind === "unary" && !String(req.headers["content-type"] ?? "").startsWith("application/connect+");
    const spec = {
      pool,
      rpcService,
      method,
      route: `/${rpcService}/${method.name}`,
      resendable: unary,
      idempotencyKey: req.headers["idempotency-key"] !== undefined,
      timeoutMs,
      signal: abort.signal,
      streaming: !unary,
    };
    let outcome: AttemptOutcome<unknown>;
    if (unary) {
      const body = await readBody(req, maxBodyBytes);
      outcome = await runner.run<BufferedResponse | ConnectError>(spec, ({ endpoint, signal, timeoutMs: attemptMs, traceContext }) => {
        const headers = attemptHeaders(req, pool.service, protocol, attemptMs);
        propagation.inject(traceContext, headers, headerSetter);
        return exchangeUnary(endpoint.upstream, headers, body, protocol, signal, maxResponseBytes);
      });
      if (!(outcome.value instanceof ConnectError)) {
        writeBuffered(res, outcome.value as BufferedResponse);
        return;
      }
    } else {
      outcome = await runner.run<"piped" | ConnectError>(spec, ({ endpoint, signal, timeoutMs: attemptMs, traceContext }) => {
        const headers = attemptHeaders(req, pool.service, protocol, attemptMs);
        propagation.inject(traceContext, headers, headerSetter);
        return exchangeStream(endpoint.upstream, headers, req, res, protocol, signal, maxBodyBytes);
      });
      if (!(outcome.value instanceof ConnectError)) return;
    }
    const error = outcome.value as ConnectError;
    if (error.code === Code.Unavailable && error.cause !== undefined) logger.warn({ err: { message: String((error.cause as Error)?.message ?? error.cause) }, rpc: spec.route }, "upstream unreachable");
    writeRpcError(req, res, error);
  }

  return function passThrough(req: HttpRequest, res: HttpResponse): boolean {
    const path = (req.url ?? "").split("?")[0]!;
    const rpcService = rpcServiceOf(path);
    const method = methods.get(path);
    if (rpcService === undefined || method === undefined) return false;
    void inRpcSpan(req.headers, rpcService, method.name, async (span) => {
      try {
        await serve(req, res, rpcService, method);
      } catch (err) {
        const error = toConnectError(err);
        span.error(error);
        if (error.code === Code.Internal || error.code === Code.Unknown) logger.warn({ err: error.cause ?? error, path }, "RPC pass-through failed");
        const headers = error.metadata.get("www-authenticate");
        writeRpcError(req, res, error, headers ? { "www-authenticate": headers } : {});
      }
    });
    return true;
  };
}
