import type http2 from "node:http2";
import { Code } from "@connectrpc/connect";
import { codeOfHttpStatus } from "../transcode/grpc-unary-call.ts";

export type RpcProtocol = "grpc" | "grpc-web" | "connect";

/** The protocol of an RPC request, from its content type (Connect unary GETs have none). */
export function protocolOf(contentType: string | undefined): RpcProtocol {
  const type = contentType ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}

const connectCodes: Readonly<Record<string, Code>> = {
  canceled: Code.Canceled,
  unknown: Code.Unknown,
  invalid_argument: Code.InvalidArgument,
  deadline_exceeded: Code.DeadlineExceeded,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  permission_denied: Code.PermissionDenied,
  resource_exhausted: Code.ResourceExhausted,
  failed_precondition: Code.FailedPrecondition,
  aborted: Code.Aborted,
  out_of_range: Code.OutOfRange,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
  unavailable: Code.Unavailable,
  data_loss: Code.DataLoss,
  unauthenticated: Code.Unauthenticated,
};

function grpcStatus(value: string | string[] | undefined): Code | undefined | "missing" {
  if (value === undefined) return "missing";
  const n = Number(Array.isArray(value) ? value[0] : value);
  if (!Number.isInteger(n) || n < 0 || n > 16) return Code.Unknown;
  return n === 0 ? undefined : (n as Code);
}

/** The grpc-status of a gRPC-Web body's trailer frame (flag 0x80), if it has one. */
function grpcWebTrailerStatus(body: Buffer): Code | undefined | "missing" {
  let at = 0;
  while (at + 5 <= body.length) {
    const flags = body.readUInt8(at);
    const length = body.readUInt32BE(at + 1);
    const end = at + 5 + length;
    if (end > body.length) break;
    if (flags & 0x80) {
      const match = /(?:^|\r\n)grpc-status:\s*(\d+)/i.exec(body.subarray(at + 5, end).toString("latin1"));
      return grpcStatus(match?.[1]);
    }
    at = end;
  }
  return "missing";
}

/**
 * The RPC code of a complete unary response in the caller's protocol, read without decoding messages:
 * gRPC's status trailer (or a trailers-only status), gRPC-Web's trailer frame, Connect's HTTP status and
 * JSON error code. Undefined for OK.
 */
export function responseCode(
  protocol: RpcProtocol,
  status: number,
  headers: http2.IncomingHttpHeaders,
  trailers: http2.IncomingHttpHeaders | undefined,
  /** The whole body of a unary response; undefined for a stream, whose body was not kept. */
  body: Buffer | undefined,
): Code | undefined {
  if (protocol === "connect") {
    if (status === 200) return undefined;
    try {
      const error = JSON.parse(body?.toString("utf8") ?? "") as { code?: unknown };
      if (typeof error.code === "string" && error.code in connectCodes) return connectCodes[error.code];
    } catch {}
    // Connect maps HTTP statuses of errors without a readable body as gRPC does
    // (https://connectrpc.com/docs/protocol#http-to-error-code).
    return codeOfHttpStatus(status);
  }
  if (status !== 200) return codeOfHttpStatus(status);
  let code = grpcStatus(trailers?.["grpc-status"]);
  if (code === "missing") code = grpcStatus(headers["grpc-status"]);
  if (code === "missing" && protocol === "grpc-web" && body !== undefined && !String(headers["content-type"] ?? "").includes("text")) {
    code = grpcWebTrailerStatus(body);
  }
  // No status at all: the upstream broke the protocol (or, for a stream, it was not kept to be read).
  if (code === "missing") return body === undefined ? undefined : Code.Internal;
  return code;
}
