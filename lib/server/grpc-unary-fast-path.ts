import type http2 from "node:http2";
import type { Readable } from "node:stream";
import { fromBinary, toBinary, type DescMessage, type DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, createHandlerContext, type Interceptor, type MethodImplSpec } from "@connectrpc/connect";
import { invokeUnaryImplementation } from "@connectrpc/connect/protocol";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { writeGrpcTrailersOnly } from "./grpc-trailers-only.ts";

/** A unary method and its implementation, as connect-es's router keeps them. */
export type UnarySpec = MethodImplSpec & { kind: "unary"; method: DescMethodUnary };

export interface GrpcUnaryFastPathOptions {
  /** Unary methods by request path (`/package.Service/Method`). */
  methods: ReadonlyMap<string, UnarySpec>;
  /** The server's interceptors, outermost first: the same chain connect-es runs. */
  interceptors: readonly Interceptor[];
  /** Largest request message accepted, in bytes. */
  readMaxBytes: number;
  /** Told of a response that could not be written (the stream is then destroyed). */
  onError?: (err: unknown) => void;
}

/** Returns true when it took the request; false leaves it untouched for connect-es. */
export type GrpcUnaryFastPath = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => boolean;

const contentTypeProto = "application/grpc+proto";
const envelopeHeaderBytes = 5;
// A reason for aborting a finished call's signal: made once, as aborting without one builds a DOMException.
export const callFinished = new ConnectError("the call has finished", Code.Canceled);

/**
 * The common case of gRPC, a unary call over HTTP/2 with binary protobuf and no compression, answered without
 * connect-es's streaming pipeline, which builds a dozen async generators per call. It runs the same handler
 * context, interceptors (invokeUnaryImplementation) and trailer encoding (setTrailerStatus) as connect-es, so
 * handlers and interceptors see no difference. Everything else (Connect, gRPC-Web, JSON, compression,
 * streaming, services registered with their own options) is left to connect-es.
 *
 * A request body that is not one well-formed message answers INVALID_ARGUMENT, as
 * parseErrorsAsInvalidArgument makes connect-es answer. Responses are never compressed.
 */
export function createGrpcUnaryFastPath(options: GrpcUnaryFastPathOptions): GrpcUnaryFastPath {
  const { methods, readMaxBytes } = options;
  const interceptors = [...options.interceptors];
  return function grpcUnaryFastPath(req, res) {
    if (req.method !== "POST") return false;
    const headers = req.headers;
    const contentType = headers["content-type"];
    if (contentType !== "application/grpc" && contentType !== contentTypeProto) return false;
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    const spec = methods.get(req.url);
    if (spec === undefined) return false;
    serve(spec, req, res).catch((err: unknown) => {
      res.destroy();
      options.onError?.(err);
    });
    return true;
  };

  async function serve(spec: UnarySpec, req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): Promise<void> {
    const requestAbort = new AbortController();
    let finished = false;
    res.once("close", () => {
      if (!finished) requestAbort.abort(new ConnectError("the client cancelled the call", Code.Canceled));
    });
    const timeout = parseTimeout(headerValue(req.headers["grpc-timeout"]), Number.MAX_SAFE_INTEGER);
    const context = createHandlerContext({
      service: spec.method.parent,
      method: spec.method,
      protocolName: "grpc",
      requestMethod: "POST",
      url: `http://${req.headers[":authority"] ?? "localhost"}${req.url}`,
      timeoutMs: timeout.timeoutMs,
      requestSignal: requestAbort.signal,
      requestHeader: webHeaderInit(req.headers),
      responseHeader: { "content-type": contentTypeProto },
      responseTrailer: { "grpc-status": "0" },
      contextValues: undefined,
    });
    try {
      if (timeout.error) throw timeout.error;
      const input = parseRequest(spec.method.input, await readBody(req, readMaxBytes + envelopeHeaderBytes));
      const output = await invokeUnaryImplementation(spec, context, input, interceptors);
      const message = toBinary(spec.method.output, output);
      const body = Buffer.allocUnsafe(envelopeHeaderBytes + message.byteLength);
      body[0] = 0;
      body.writeUInt32BE(message.byteLength, 1);
      body.set(message, envelopeHeaderBytes);
      if (res.destroyed) return;
      res.writeHead(200, headerObject(context.responseHeader));
      res.addTrailers(headerObject(context.responseTrailer));
      res.end(body);
    } catch (err) {
      if (res.destroyed) return;
      const error = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      // Trailers-only: the status travels in the one HEADERS frame, as gRPC allows for a call without messages.
      const status = setTrailerStatus(new Headers(context.responseTrailer), error);
      writeGrpcTrailersOnly(res, { ...headerObject(context.responseHeader), ...headerObject(status) });
    } finally {
      finished = true;
      // As connect-es does: the call's signal ends with the call (clearing any deadline timer), so whatever
      // a handler tied to it (joined lookups, merged signals) is released.
      context.abort(callFinished);
    }
  }
}

/** The whole request body, or ResourceExhausted past `limit` bytes. */
export function readBody(req: Readable, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    req.on("data", (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(new ConnectError(`message size ${length} is larger than configured readMaxBytes ${limit}`, Code.ResourceExhausted));
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)));
    req.once("error", reject);
  });
}

/** Exactly one uncompressed enveloped message, decoded; anything else is the client's mistake. */
function parseRequest<I extends DescMessage>(schema: I, body: Buffer) {
  if (body.length < envelopeHeaderBytes) {
    throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  }
  const flags = body[0]!;
  const length = body.readUInt32BE(1);
  if ((flags & 0b1) !== 0) {
    throw new ConnectError("protocol error: received compressed input message without grpc-encoding", Code.Internal);
  }
  if (body.length < envelopeHeaderBytes + length) {
    throw new ConnectError(`protocol error: promised ${length} bytes in enveloped message, got ${body.length - envelopeHeaderBytes} bytes`, Code.InvalidArgument);
  }
  if (body.length > envelopeHeaderBytes + length) {
    throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
  }
  try {
    return fromBinary(schema, body.subarray(envelopeHeaderBytes));
  } catch (err) {
    throw new ConnectError(`parse binary: ${err instanceof Error ? err.message : String(err)}`, Code.InvalidArgument);
  }
}

/** Node request headers without HTTP/2 pseudo-headers, as web Headers accept them. */
export function webHeaderInit(headers: http2.IncomingHttpHeaders): Record<string, string> {
  const init: Record<string, string> = {};
  for (const key in headers) {
    if (key.charCodeAt(0) === 58 /* ":" */) continue;
    const value = headers[key];
    if (value === undefined) continue;
    init[key] = Array.isArray(value) ? value.join(", ") : value;
  }
  return init;
}

export function headerObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

export function headerValue(value: string | string[] | undefined): string | null {
  return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
}
