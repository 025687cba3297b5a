import http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { markNotReached, type AttemptOutcome } from "../resilience/attempt-outcome.ts";
import type { Upstream } from "../upstream.ts";
import { responseCode, type RpcProtocol } from "./rpc-protocol.ts";

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** A whole unary response, held so that it can be judged before the caller sees any of it. */
export interface BufferedResponse {
  readonly status: number;
  readonly headers: http2.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly trailers: http2.IncomingHttpHeaders | undefined;
}

/** An open stream to the upstream, and whether its session had connected when the stream was made. */
interface Opened {
  stream: http2.ClientHttp2Stream;
  connected: () => boolean;
}

/**
 * Opens a stream on the upstream's session. A session that got GOAWAY refuses new streams: once more on a
 * fresh one. Throws a ConnectError marked "not reached" when no stream can be opened.
 */
export function openStream(upstream: Upstream, headers: http2.OutgoingHttpHeaders): Opened {
  for (let attempt = 0; ; attempt++) {
    try {
      const session = upstream.session();
      let connected = !session.connecting;
      if (!connected) session.once("connect", () => (connected = true));
      return { stream: session.request(headers), connected: () => connected };
    } catch (err) {
      upstream.close();
      if (attempt >= 1) throw markNotReached(new ConnectError("the upstream instance is unreachable", Code.Unavailable, undefined, undefined, err));
    }
  }
}

/** The outcome of a stream that ended without a complete answer. */
function brokenOutcome(stream: http2.ClientHttp2Stream, connected: boolean, cause: unknown): AttemptOutcome<ConnectError> {
  const refused = !connected || stream.rstCode === NGHTTP2_REFUSED_STREAM;
  const error = new ConnectError(
    refused ? "the upstream instance is unreachable" : "the upstream instance went away before answering",
    Code.Unavailable,
    undefined,
    undefined,
    cause,
  );
  return { code: Code.Unavailable, reached: !refused, value: refused ? markNotReached(error) : error };
}

/**
 * Sends a whole unary request and collects the whole response. Resolves with the response and its RPC code,
 * or with Unavailable (saying whether the request reached the instance) when the stream breaks; the signal
 * cancels the stream.
 */
export function exchangeUnary(
  upstream: Upstream,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer,
  protocol: RpcProtocol,
  signal: AbortSignal,
  maxResponseBytes: number,
): Promise<AttemptOutcome<BufferedResponse | ConnectError>> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ code: Code.Canceled, reached: false, value: new ConnectError("the call was cancelled", Code.Canceled) });
      return;
    }
    let opened: Opened;
    try {
      opened = openStream(upstream, headers);
    } catch (err) {
      resolve({ code: Code.Unavailable, reached: false, value: err as ConnectError });
      return;
    }
    const { stream } = opened;
    let settled = false;
    let responseHeaders: http2.IncomingHttpHeaders | undefined;
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (outcome: AttemptOutcome<BufferedResponse | ConnectError>) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (!stream.closed) stream.close(outcome.code === Code.Canceled || outcome.code === Code.DeadlineExceeded ? NGHTTP2_CANCEL : NGHTTP2_NO_ERROR);
      resolve(outcome);
    };
    const onAbort = () => finish({ code: Code.Canceled, reached: true, value: new ConnectError("the call was cancelled", Code.Canceled) });
    signal.addEventListener("abort", onAbort, { once: true });
    stream.on("response", (h) => (responseHeaders = h));
    stream.on("trailers", (t) => (trailers = t));
    let ended = false;
    stream.on("end", () => (ended = true));
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxResponseBytes) {
        finish({ code: Code.ResourceExhausted, reached: true, value: new ConnectError(`the upstream's response is larger than ${maxResponseBytes} bytes`, Code.ResourceExhausted) });
        return;
      }
      chunks.push(chunk);
    });
    stream.on("error", (err) => finish(brokenOutcome(stream, opened.connected(), err)));
    stream.on("close", () => {
      if (settled) return;
      // A reset after the whole answer (some servers send one) does not spoil it.
      if (!responseHeaders || (!ended && stream.rstCode !== NGHTTP2_NO_ERROR)) {
        finish(brokenOutcome(stream, opened.connected(), new Error(`RST_STREAM ${stream.rstCode}`)));
        return;
      }
      const response: BufferedResponse = {
        status: Number(responseHeaders[":status"] ?? 502),
        headers: responseHeaders,
        body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size),
        trailers,
      };
      finish({ code: responseCode(protocol, response.status, response.headers, trailers, response.body), reached: true, value: response });
    });
    stream.end(body);
  });
}
