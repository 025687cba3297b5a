import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";

const parseFailure = /^parse binary:/;

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

function remapGrpcStatus(headers: Headers | undefined): void {
  if (headers?.get("grpc-status") !== "13") return;
  const message = decodeURIComponent(headers.get("grpc-message") ?? "");
  if (parseFailure.test(message)) headers.set("grpc-status", "3");
}

/**
 * connect-es reports a request body that is not valid protobuf as INTERNAL ("parse binary: …") and, for unary
 * calls, before any interceptor runs. A client that sends garbage made a mistake, so this wrapper answers
 * INVALID_ARGUMENT instead, in each protocol: the gRPC and gRPC-Web status, and the Connect unary error body
 * with its HTTP status (400). Responses of every other kind pass through untouched.
 */
export function parseErrorsAsInvalidArgument(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: Parameters<UniversalHandler>[0]): Promise<UniversalServerResponse> => {
    const res = await handler(req);
    remapGrpcStatus(res.header);
    remapGrpcStatus(res.trailer);
    const contentType = res.header?.get("content-type") ?? "";
    if (res.status === 500 && contentType.startsWith("application/json") && res.body) {
      const bytes = await readAll(res.body);
      try {
        const error = JSON.parse(Buffer.from(bytes).toString("utf8")) as { code?: string; message?: string };
        if (error.code === "internal" && parseFailure.test(error.message ?? "")) {
          const body = Buffer.from(JSON.stringify({ ...error, code: "invalid_argument" }));
          res.header?.set("content-length", String(body.length));
          return { ...res, status: 400, body: once(body) };
        }
      } catch {
        // Not a Connect error body: send it as it was.
      }
      return { ...res, body: once(bytes) };
    }
    return res;
  };
  return Object.assign(wrapped, handler);
}
