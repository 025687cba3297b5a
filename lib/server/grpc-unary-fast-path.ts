import http2 from "node:http2";
import type { Readable } from "node:stream";
import { fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { callHeaders, headerObject, requestHeadersOf } from "./call-headers.ts";
import { binaryEncodingOf } from "./message-with-encoded-field.ts";
import { createUnaryCall, createUnaryInvoker, type UnaryInvoker, type UnarySpec } from "./unary-call.ts";

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

/**
 * Returns true when it took the stream; false leaves it untouched for the compatibility API and connect-es.
 * `response` is the stream's compatibility response where one was made: the answer is then written through it,
 * as it also writes trailers of its own.
 */
export type GrpcUnaryFastPath = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, response?: http2.Http2ServerResponse) => boolean;

const contentTypeProto = "application/grpc+proto";
const envelopeHeaderBytes = 5;
const { NGHTTP2_CANCEL } = http2.constants;
// A stream reset by the client emits 'error' and then 'close'; 'close' cancels the call, and without a
// listener the error would end the process.
const ignoreStreamError = () => {};

/**
 * The common case of gRPC, a unary call over HTTP/2 with binary protobuf and no compression, answered on the
 * HTTP/2 stream itself: without Node's compatibility request and response objects, and without connect-es's
 * streaming pipeline, which builds a dozen async generators per call. It runs the same interceptors
 * (createUnaryInvoker) and trailer encoding (setTrailerStatus) as connect-es, so handlers and interceptors see
 * no difference. Everything else (Connect, gRPC-Web, JSON, compression, streaming, services registered with
 * their own options) is left to connect-es.
 *
 * A request body that is not one well-formed message answers INVALID_ARGUMENT, as
 * parseErrorsAsInvalidArgument makes connect-es answer. Responses are never compressed.
 */
export function createGrpcUnaryFastPath(options: GrpcUnaryFastPathOptions): GrpcUnaryFastPath {
  const { methods, readMaxBytes } = options;
  const invokers = new Map<UnarySpec, UnaryInvoker>();
  for (const spec of methods.values()) invokers.set(spec, createUnaryInvoker(spec, options.interceptors));
  return function grpcUnaryFastPath(stream, headers, response) {
    if (headers[":method"] !== "POST") return false;
    const contentType = headers["content-type"];
    if (contentType !== "application/grpc" && contentType !== contentTypeProto) return false;
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    const spec = methods.get(headers[":path"] ?? "");
    if (spec === undefined) return false;
    serve(spec, invokers.get(spec)!, stream, headers, response).catch((err: unknown) => {
      stream.close(NGHTTP2_CANCEL);
      options.onError?.(err);
    });
    return true;
  };

  async function serve(
    spec: UnarySpec,
    invoke: UnaryInvoker,
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    response: http2.Http2ServerResponse | undefined,
  ): Promise<void> {
    const timeout = parseTimeout(headerValue(headers["grpc-timeout"]), Number.MAX_SAFE_INTEGER);
    const call = createUnaryCall({
      spec,
      protocolName: "grpc",
      url: `http://${headers[":authority"] ?? "localhost"}${headers[":path"]}`,
      timeoutMs: timeout.timeoutMs,
      requestHeader: requestHeadersOf(headers),
      responseHeader: callHeaders({ "content-type": contentTypeProto }),
      responseTrailer: callHeaders({ "grpc-status": "0" }),
    });
    let finished = false;
    const onClose = () => {
      if (!finished) call.cancel(new ConnectError("the client cancelled the call", Code.Canceled));
    };
    stream.once("close", onClose);
    stream.on("error", ignoreStreamError);
    try {
      if (timeout.error) throw timeout.error;
      const input = parseRequest(spec.method.input, await readBody(stream, readMaxBytes + envelopeHeaderBytes));
      const output = await invoke(call, input);
      const message = binaryEncodingOf(output) ?? toBinary(spec.method.output, output);
      const body = Buffer.allocUnsafe(envelopeHeaderBytes + message.byteLength);
      body[0] = 0;
      body.writeUInt32BE(message.byteLength, 1);
      body.set(message, envelopeHeaderBytes);
      if (stream.destroyed || stream.headersSent) return;
      const trailers = headerObject(call.responseTrailer);
      if (response !== undefined) {
        response.writeHead(200, headerObject(call.responseHeader));
        response.addTrailers(trailers);
        response.end(body);
        return;
      }
      stream.respond({ ...headerObject(call.responseHeader), ":status": 200 }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers(trailers));
      stream.end(body);
    } catch (err) {
      if (stream.destroyed || stream.headersSent) return;
      const error = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      // Trailers-only: the status travels in the one HEADERS frame, as gRPC allows for a call without messages.
      const status = setTrailerStatus(new Headers(headerObject(call.responseTrailer)), error);
      stream.respond({ ...headerObject(call.responseHeader), ...headerObject(status), ":status": 200 }, { endStream: true });
      // The request may still be arriving (a body too large): the answer is complete without it.
      stream.resume();
    } finally {
      finished = true;
      stream.off("close", onClose);
      call.finish();
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

export function headerValue(value: string | string[] | undefined): string | null {
  return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
}
