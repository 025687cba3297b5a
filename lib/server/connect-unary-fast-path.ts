import type http from "node:http";
import type http2 from "node:http2";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  createMethodSerializationLookup,
  mergeNonProtocolHeaders,
  validateReadWriteMaxBytes,
  type MethodSerializationLookup,
} from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes, parseContentType, parseTimeout, trailerMux } from "@connectrpc/connect/protocol-connect";
import { callHeaders, headerObject, requestHeadersOf } from "./call-headers.ts";
import { headerValue, readBody } from "./grpc-unary-fast-path.ts";
import { binaryEncodingOf } from "./message-with-encoded-field.ts";
import { createUnaryCall, createUnaryInvoker, type UnaryInvoker, type UnarySpec } from "./unary-call.ts";

export interface ConnectUnaryFastPathOptions {
  /** Unary methods by request path (`/package.Service/Method`). */
  methods: ReadonlyMap<string, UnarySpec>;
  /** The server's interceptors, outermost first: the same chain connect-es runs. */
  interceptors: readonly Interceptor[];
  /** Largest request message accepted, in bytes. */
  readMaxBytes: number;
  /** Told of a response that could not be written (the stream is then destroyed). */
  onError?: (err: unknown) => void;
}

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** Returns true when it took the request; false leaves it untouched for connect-es. */
export type ConnectUnaryFastPath = (req: Request, res: Response) => boolean;

const parseBinaryFailure = /^parse binary:/;

/**
 * The Connect protocol's unary POST (JSON or binary, uncompressed, HTTP/1.1 or HTTP/2) answered without
 * connect-es's universal handler and its request and response adapters. It uses connect-es's own pieces for
 * everything the client sees: the interceptor chain (as createUnaryInvoker runs it), the method's serializers, the error JSON, the HTTP status of each code and the `trailer-` headers. GET requests,
 * compressed bodies and streams are left to connect-es. A binary body that is not protobuf answers
 * INVALID_ARGUMENT (400), as parseErrorsAsInvalidArgument makes connect-es answer. Responses are never
 * compressed.
 */
export function createConnectUnaryFastPath(options: ConnectUnaryFastPathOptions): ConnectUnaryFastPath {
  const { methods, readMaxBytes } = options;
  const invokers = new Map<UnarySpec, UnaryInvoker>();
  for (const spec of methods.values()) invokers.set(spec, createUnaryInvoker(spec, options.interceptors));
  const limits = validateReadWriteMaxBytes(readMaxBytes, undefined, undefined);
  const serializers = new WeakMap<UnarySpec, MethodSerializationLookup<any, any>>();
  const serializationOf = (spec: UnarySpec) => {
    let lookup = serializers.get(spec);
    if (lookup === undefined) {
      lookup = createMethodSerializationLookup(spec.method, undefined, undefined, limits);
      serializers.set(spec, lookup);
    }
    return lookup;
  };

  return function connectUnaryFastPath(req, res) {
    if (req.method !== "POST") return false;
    const headers = req.headers;
    const type = parseContentType(headerValue(headers["content-type"]));
    if (type === undefined || type.stream) return false;
    const encoding = headers["content-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    const version = headers["connect-protocol-version"];
    if (version !== undefined && version !== "1") return false;
    const spec = methods.get(req.url ?? "");
    if (spec === undefined) return false;
    serve(spec, invokers.get(spec)!, serializationOf(spec), type.binary, req, res).catch((err: unknown) => {
      res.destroy();
      options.onError?.(err);
    });
    return true;
  };

  async function serve(
    spec: UnarySpec,
    invoke: UnaryInvoker,
    serialization: MethodSerializationLookup<any, any>,
    binary: boolean,
    req: Request,
    res: Response,
  ): Promise<void> {
    const timeout = parseTimeout(headerValue(req.headers["connect-timeout-ms"]), Number.MAX_SAFE_INTEGER);
    const authority = req.headers.host ?? headerValue(req.headers[":authority"]) ?? "localhost";
    const call = createUnaryCall({
      spec,
      protocolName: "connect",
      url: `http://${authority}${req.url ?? ""}`,
      timeoutMs: timeout.timeoutMs,
      requestHeader: requestHeadersOf(req.headers),
      responseHeader: callHeaders({ "content-type": binary ? "application/proto" : "application/json" }),
      responseTrailer: callHeaders(),
    });
    let finished = false;
    const onClose = () => {
      if (!finished) call.cancel(new ConnectError("the client cancelled the call", Code.Canceled));
    };
    res.once("close", onClose);
    let status = 200;
    let body: Uint8Array;
    try {
      if (timeout.error) throw timeout.error;
      const bytes = await readBody(req, readMaxBytes);
      const input = parse(serialization, binary, bytes);
      const output = await invoke(call, input);
      body = (binary ? binaryEncodingOf(output) : undefined) ?? serialization.getO(binary).serialize(output);
    } catch (err) {
      const error = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      status = codeToHttpStatus(error.code);
      call.responseHeader.set("content-type", "application/json");
      if (!error.isWireError) mergeNonProtocolHeaders(call.responseHeader, error.metadata);
      body = errorToJsonBytes(error, undefined);
    } finally {
      finished = true;
      res.off("close", onClose);
      call.finish();
    }
    if (res.destroyed) return;
    const header = headerObject(call.responseTrailer.keys().next().done ? call.responseHeader : trailerMux(call.responseHeader, call.responseTrailer));
    header["content-length"] = String(body.byteLength);
    (res as http.ServerResponse).writeHead(status, header);
    res.end(body);
  }
}

function parse(serialization: MethodSerializationLookup<any, any>, binary: boolean, bytes: Uint8Array) {
  try {
    return serialization.getI(binary).parse(bytes);
  } catch (err) {
    const error = ConnectError.from(err, Code.InvalidArgument);
    // connect-es reports a binary body that is not protobuf as INTERNAL; it is the client's mistake.
    if (error.code === Code.Internal && parseBinaryFailure.test(error.rawMessage)) {
      throw new ConnectError(error.rawMessage, Code.InvalidArgument, error.metadata, undefined, error);
    }
    throw error;
  }
}
