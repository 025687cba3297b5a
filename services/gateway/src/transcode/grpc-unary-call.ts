import http2 from "node:http2";
import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescMethodUnary, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { base64Decode, BinaryReader } from "@bufbuild/protobuf/wire";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type UnaryResponse } from "@connectrpc/connect";
import { markNotReached } from "../resilience/attempt-outcome.ts";
import type { Upstream } from "../upstream.ts";
import { isReturnedMetadata } from "./headers.ts";

/** Largest response message accepted from an upstream. */
const maxResponseBytes = 64 * 1024 * 1024;

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_INADEQUATE_SECURITY } = http2.constants;

/** gRPC's mapping of HTTP statuses that are not 200 (https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md). */
export function codeOfHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

function codeOfResetStream(rstCode: number): Code {
  switch (rstCode) {
    case NGHTTP2_REFUSED_STREAM:
      return Code.Unavailable;
    case NGHTTP2_CANCEL:
      return Code.Canceled;
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return Code.ResourceExhausted;
    case NGHTTP2_INADEQUATE_SECURITY:
      return Code.PermissionDenied;
    default:
      return Code.Internal;
  }
}

/** The application's metadata among response headers or trailers: what a REST response may carry on. */
function toHeaders(source: http2.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const name of Object.keys(source)) {
    const value = source[name];
    if (value === undefined || !isReturnedMetadata(name)) continue;
    try {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else headers.append(name, value);
    } catch {
      // a value Headers refuses is not metadata anyone can use
    }
  }
  return headers;
}

/** The details of `grpc-status-details-bin`: a google.rpc.Status whose field 3 holds Any messages. */
function detailsOf(value: string | undefined): Array<{ type: string; value: Uint8Array }> {
  if (!value) return [];
  try {
    const reader = new BinaryReader(base64Decode(value));
    const details: Array<{ type: string; value: Uint8Array }> = [];
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === 3) {
        const any = fromBinary(AnySchema, reader.bytes());
        details.push({ type: any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1), value: any.value });
      } else {
        reader.skip(wireType);
      }
    }
    return details;
  } catch {
    return [];
  }
}

function statusError(code: number, message: string | undefined, metadata: Headers, details: string | undefined): ConnectError {
  let text = message ?? "";
  try {
    text = decodeURIComponent(text);
  } catch {}
  const known = Number.isInteger(code) && code > 0 && code <= 16 ? (code as Code) : Code.Unknown;
  const error = new ConnectError(text, known, metadata);
  // The constructor takes details to send; received ones (type name and bytes) are added as Connect does.
  error.details.push(...detailsOf(details));
  return error;
}

/** The path prefix of the upstream's URL, such as "" or "/api". */
export function basePath(url: string): string {
  return new URL(url).pathname.replace(/\/+$/, "");
}

/**
 * One unary gRPC call on the upstream's HTTP/2 session, without the generic machinery of a Connect transport
 * (interceptors, async iterables, linked abort signals), which costs several times the CPU of the call
 * itself: the REST gateway makes one of these per request. Binary protobuf, no compression. Errors are
 * ConnectErrors as a Connect transport raises them: the upstream's status with its metadata and details,
 * Unavailable (with the cause) when the connection fails, DeadlineExceeded and Canceled. The response's
 * `header` and `trailer` (and an error's metadata) hold the application's metadata only: the protocol and
 * framing headers (content-type, grpc-*, date) that no REST response carries on are left out.
 *
 * `header` holds the request metadata with names in lower case; `pathPrefix` is the upstream URL's path
 * (basePath), worked out once per upstream rather than per call.
 */
export function grpcUnaryCall<I extends DescMessage, O extends DescMessage>(
  upstream: Upstream,
  pathPrefix: string,
  method: DescMethodUnary<I, O>,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: Readonly<Record<string, string>>,
  input: MessageInitShape<I>,
): Promise<UnaryResponse<I, O>> {
  const message = isMessage(input, method.input) ? input : create(method.input, input);
  const bytes = toBinary(method.input, message);
  const frame = Buffer.allocUnsafe(5 + bytes.byteLength);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(bytes.byteLength, 1);
  frame.set(bytes, 5);

  const requestHeaders: http2.OutgoingHttpHeaders = {
    ...header,
    ":method": "POST",
    ":path": `${pathPrefix}/${method.parent.typeName}/${method.name}`,
    "content-type": "application/grpc+proto",
    te: "trailers",
  };
  if (timeoutMs !== undefined) requestHeaders["grpc-timeout"] = `${Math.min(Math.ceil(timeoutMs), 99_999_999)}m`;

  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ConnectError("the request was cancelled", Code.Canceled));
      return;
    }
    let stream: http2.ClientHttp2Stream;
    let connected = false;
    try {
      const session = upstream.session();
      connected = !session.connecting;
      if (!connected) session.once("connect", () => (connected = true));
      stream = session.request(requestHeaders);
    } catch (err) {
      reject(markNotReached(new ConnectError("the upstream is unreachable", Code.Unavailable, undefined, undefined, err)));
      return;
    }
    let settled = false;
    let responseHeaders: http2.IncomingHttpHeaders | undefined;
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    let received = 0;

    const finish = (error: ConnectError | undefined, response?: UnaryResponse<I, O>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (error) {
        if (!stream.closed) stream.close(error.code === Code.Canceled || error.code === Code.DeadlineExceeded ? NGHTTP2_CANCEL : NGHTTP2_NO_ERROR);
        reject(error);
      } else {
        resolve(response!);
      }
    };
    const onAbort = () => finish(new ConnectError("the request was cancelled", Code.Canceled));
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => finish(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);

    stream.on("response", (headers) => {
      responseHeaders = headers;
    });
    stream.on("trailers", (t) => {
      trailers = t;
    });
    stream.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxResponseBytes) {
        finish(new ConnectError(`the upstream's response is larger than ${maxResponseBytes} bytes`, Code.ResourceExhausted));
        return;
      }
      chunks.push(chunk);
    });
    stream.on("error", (err) => {
      const error = new ConnectError("the upstream is unreachable", Code.Unavailable, undefined, undefined, err);
      // Before the connection was up, or refused by the server: the request never reached the upstream.
      finish(!connected || stream.rstCode === NGHTTP2_REFUSED_STREAM ? markNotReached(error) : error);
    });
    stream.on("close", () => {
      if (settled) return;
      if (!responseHeaders) {
        // Our own cancels settle first, so a CANCEL here came from the upstream's side or its dead connection.
        const code = stream.rstCode === NGHTTP2_NO_ERROR || stream.rstCode === NGHTTP2_CANCEL ? Code.Unavailable : codeOfResetStream(stream.rstCode);
        const error = new ConnectError("the upstream closed the stream without an answer", code, undefined, undefined, new Error(`RST_STREAM ${stream.rstCode}`));
        finish(!connected || stream.rstCode === NGHTTP2_REFUSED_STREAM ? markNotReached(error) : error);
        return;
      }
      finish(...settle(method, responseHeaders, trailers, chunks, received));
    });
    stream.end(frame);
  });
}

/** The outcome of a finished call, from its headers, trailers and body. */
function settle<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  headers: http2.IncomingHttpHeaders,
  trailers: http2.IncomingHttpHeaders | undefined,
  chunks: Buffer[],
  size: number,
): [ConnectError | undefined, UnaryResponse<I, O>?] {
  const header = toHeaders(headers);
  const trailer = toHeaders(trailers ?? {});
  const status = Number(headers[":status"]);
  if (status !== 200) return [new ConnectError(`the upstream answered HTTP ${status}`, codeOfHttpStatus(status), header)];
  // Trailers-only responses carry the status in the headers.
  const statusFrom = trailers?.["grpc-status"] !== undefined ? trailers : headers;
  const grpcStatus = statusFrom["grpc-status"];
  if (grpcStatus === undefined) return [new ConnectError("the upstream ended the call without a gRPC status", Code.Internal, header)];
  // Errors carry headers and trailers together; a successful call keeps them apart and never needs this.
  const metadata = () => {
    const merged = new Headers(header);
    trailer.forEach((value, name) => merged.append(name, value));
    return merged;
  };
  if (Number(grpcStatus) !== 0) {
    return [statusError(Number(grpcStatus), statusFrom["grpc-message"] as string | undefined, metadata(), statusFrom["grpc-status-details-bin"] as string | undefined)];
  }
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  if (body.length < 5) return [new ConnectError("the upstream sent no response message", Code.Internal, metadata())];
  const flags = body.readUInt8(0);
  const length = body.readUInt32BE(1);
  if (flags !== 0 || body.length !== 5 + length) {
    return [new ConnectError("the upstream sent a compressed or malformed response message", Code.Internal, metadata())];
  }
  let message: MessageShape<O>;
  try {
    message = fromBinary(method.output, body.subarray(5));
  } catch (err) {
    return [new ConnectError("the upstream's response message does not decode", Code.Internal, metadata(), undefined, err)];
  }
  return [undefined, { stream: false, service: method.parent, method, header, message, trailer }];
}
