import type { ServerResponse } from "node:http";
import type { Message } from "@bufbuild/protobuf";
import type { StreamResponse } from "@connectrpc/connect";
import { toConnectError } from "../../../../lib/errors/connect-errors.ts";
import type { HttpResponse } from "../../../../lib/server/http-exchange.ts";
import { metadataHeaders } from "./headers.ts";
import { encodeResponse, type JsonWriteSettings } from "./response-body.ts";
import { isFinished, writeHead } from "./rest-response.ts";
import type { Route } from "./route-table.ts";
import { statusJson } from "./status-json.ts";

export type StreamFormat = "sse" | "ndjson";

/** Server-Sent Events when the client accepts them, else newline-delimited JSON. */
export function streamFormatOf(accept: string | undefined): StreamFormat {
  return accept !== undefined && /\btext\/event-stream\b/i.test(accept) ? "sse" : "ndjson";
}

export interface StreamWriteOptions extends JsonWriteSettings {
  readonly requestId: string;
  readonly format: StreamFormat;
}

/**
 * Streams a server-streaming RPC to a REST client.
 * - SSE (`text/event-stream`): each message is a `data:` event; an error ends the stream with
 *   `event: error` whose data is the google.rpc.Status JSON.
 * - NDJSON (`application/x-ndjson`): one line per message, `{"result": …}`, and a last `{"error": …}` line
 *   on failure: grpc-gateway's framing, so a message can never be mistaken for an error.
 * - A google.api.HttpBody response is streamed raw with the first message's content type; a failure after
 *   the first bytes can only cut the connection.
 * The status line waits for the first message (or the end of the stream): an RPC that fails before sending
 * anything (a watch of something that does not exist) gets its real HTTP status and a google.rpc.Status
 * body, thrown from here to the caller. After that the status is 200 and errors are in-band. Writes wait
 * for the client to drain.
 */
export async function writeServerStream(
  res: HttpResponse,
  route: Route,
  response: StreamResponse,
  options: StreamWriteOptions,
): Promise<void> {
  const out = res as ServerResponse;
  const raw = route.responseBody === undefined && route.method.output.typeName === "google.api.HttpBody";
  const messages = response.message[Symbol.asyncIterator]();
  const first = await messages.next();
  if (isFinished(res)) return;
  const encode = (message: unknown) => encodeResponse(route, message as Message, options);
  const firstEncoded = first.done ? undefined : encode(first.value);
  const contentType = raw
    ? (firstEncoded?.contentType ?? "application/octet-stream")
    : options.format === "sse"
      ? "text/event-stream; charset=utf-8"
      : "application/x-ndjson; charset=utf-8";
  writeHead(res, 200, { ...metadataHeaders(response.header), "cache-control": "no-cache", "x-accel-buffering": "no" }, {
    "content-type": contentType,
    "x-request-id": options.requestId,
  });
  const frame = (body: string | Uint8Array) =>
    raw ? body : options.format === "sse" ? `data: ${body as string}\n\n` : `{"result":${body as string}}\n`;
  try {
    if (firstEncoded) await write(out, frame(firstEncoded.body));
    for (let next = first; !next.done; ) {
      next = await messages.next();
      if (isFinished(res)) return;
      if (!next.done) await write(out, frame(encode(next.value).body));
    }
  } catch (err) {
    if (isFinished(res)) return;
    if (raw) {
      out.destroy();
      return;
    }
    const status = JSON.stringify(statusJson(toConnectError(err), options.requestId, options.registry));
    await write(out, options.format === "sse" ? `event: error\ndata: ${status}\n\n` : `{"error":${status}}\n`);
  }
  if (!isFinished(res)) out.end();
}

function write(out: ServerResponse, chunk: string | Uint8Array): Promise<void> {
  if (isFinished(out as unknown as HttpResponse)) return Promise.resolve();
  if (out.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      out.off("drain", done);
      out.off("close", done);
      resolve();
    };
    out.once("drain", done);
    out.once("close", done);
  });
}
