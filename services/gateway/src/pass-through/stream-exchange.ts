import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import type { HttpRequest, HttpResponse } from "../../../../lib/server/http-exchange.ts";
import { markNotReached, type AttemptOutcome } from "../resilience/attempt-outcome.ts";
import type { Upstream } from "../upstream.ts";
import { responseCode, type RpcProtocol } from "./rpc-protocol.ts";
import { openStream } from "./upstream-exchange.ts";

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

function forwardable(headers: http2.IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(":") || name === "connection" || name === "transfer-encoding" || name === "keep-alive") continue;
    out[name] = value;
  }
  return out;
}

/**
 * Pipes a streaming call both ways as it flows, with backpressure. Resolves when the call is over: "piped"
 * once anything reached the caller (the upstream's status then went with it), or the error for the runner
 * to answer when the upstream failed before answering.
 */
export function exchangeStream(
  upstream: Upstream,
  headers: http2.OutgoingHttpHeaders,
  req: HttpRequest,
  res: HttpResponse,
  protocol: RpcProtocol,
  signal: AbortSignal,
  maxBodyBytes: number,
): Promise<AttemptOutcome<"piped" | ConnectError>> {
  const out = res as ServerResponse;
  return new Promise((resolve) => {
    let opened: ReturnType<typeof openStream>;
    try {
      opened = openStream(upstream, headers);
    } catch (err) {
      resolve({ code: Code.Unavailable, reached: false, value: err as ConnectError });
      return;
    }
    const { stream } = opened;
    let settled = false;
    let status = 0;
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    let sent = 0;
    const finish = (outcome: AttemptOutcome<"piped" | ConnectError>) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      req.off("data", onRequestData);
      resolve(outcome);
    };
    const failed = (cause: unknown) => {
      if (out.headersSent) {
        out.destroy();
        finish({ code: Code.Unavailable, reached: true, value: "piped" });
        return;
      }
      const refused = !opened.connected() || stream.rstCode === NGHTTP2_REFUSED_STREAM;
      const error = new ConnectError(refused ? "the upstream instance is unreachable" : "the upstream instance went away before answering", Code.Unavailable, undefined, undefined, cause);
      finish({ code: Code.Unavailable, reached: !refused, value: refused ? markNotReached(error) : error });
    };
    const onAbort = () => {
      if (!stream.closed) stream.close(NGHTTP2_CANCEL);
      if (out.headersSent) {
        out.destroy();
        finish({ code: Code.Canceled, reached: true, value: "piped" });
      } else {
        finish({ code: Code.Canceled, reached: true, value: new ConnectError("the call was cancelled", Code.Canceled) });
      }
    };
    signal.addEventListener("abort", onAbort, { once: true });

    stream.on("response", (h) => {
      responseHeaders = h;
      status = Number(h[":status"] ?? 502);
      out.writeHead(status, forwardable(h));
    });
    stream.on("trailers", (t) => {
      trailers = t;
      out.addTrailers(forwardable(t));
    });
    stream.on("data", (chunk: Buffer) => {
      if (!out.write(chunk)) {
        stream.pause();
        out.once("drain", () => stream.resume());
      }
    });
    stream.on("error", failed);
    stream.on("close", () => {
      if (settled) return;
      if (status === 0 || (stream.rstCode !== NGHTTP2_NO_ERROR && !stream.readableEnded)) {
        failed(new Error(`RST_STREAM ${stream.rstCode}`));
        return;
      }
      out.end();
      finish({ code: responseCode(protocol, status, responseHeaders, trailers, undefined), reached: true, value: "piped" });
    });

    function onRequestData(chunk: Buffer): void {
      sent += chunk.length;
      if (sent > maxBodyBytes) {
        stream.close(NGHTTP2_CANCEL);
        if (!out.headersSent) finish({ code: Code.ResourceExhausted, reached: true, value: new ConnectError(`the request stream is larger than ${maxBodyBytes} bytes`, Code.ResourceExhausted) });
        else out.destroy();
        return;
      }
      if (!stream.write(chunk)) {
        req.pause();
        stream.once("drain", () => req.resume());
      }
    }
    req.on("data", onRequestData);
    req.once("end", () => {
      if (!stream.closed) stream.end();
    });
  });
}
