// A gRPC client for the load generator: HTTP/2 without TLS (h2c) on one bare socket, with pre-encoded
// requests. node:http2's client allocates several KB of objects per stream, some of which live long enough
// to be promoted, and the generator's own GC pauses then land in every latency it measures; this one frames
// requests itself and allocates a few hundred bytes each.
//
// It does not decode HPACK, so it reads neither :status nor grpc-status: a call counts as answered when its
// stream ends with trailers after headers and a non-empty message (HEADERS, DATA, HEADERS with END_STREAM), the
// shape of every successful unary gRPC answer. A trailers-only answer (one HEADERS frame that ends the stream)
// is how gRPC servers report an error; it counts as failed, without its code. Callers check every answer's
// code in the server's own metrics.
import net from "node:net";
import type { Done, RawClient } from "./raw-client.ts";

export interface RawGrpcOptions {
  url: string;
  /** A call not answered within it (sent or still queued) fails with "timed out"; a sent one is cancelled. @default 5000 */
  timeoutMs?: number;
}

const frameType = { data: 0, headers: 1, rstStream: 3, settings: 4, ping: 6, goaway: 7, windowUpdate: 8, continuation: 9 } as const;
const flag = { endStream: 0x1, ack: 0x1, endHeaders: 0x4, padded: 0x8, priority: 0x20 } as const;
const maxWindow = 2 ** 31 - 1;

function frameHeader(target: Buffer, at: number, length: number, type: number, flags: number, streamId: number): void {
  target.writeUIntBE(length, at, 3);
  target[at + 3] = type;
  target[at + 4] = flags;
  target.writeUInt32BE(streamId, at + 5);
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(9 + payload.length);
  frameHeader(out, 0, payload.length, type, flags, streamId);
  payload.copy(out, 9);
  return out;
}

/** An HPACK integer with a 7-bit prefix (RFC 7541, 5.1), as string lengths are written without Huffman. */
function hpackLength(n: number): number[] {
  if (n < 127) return [n];
  const bytes = [127];
  n -= 127;
  while (n >= 128) {
    bytes.push((n % 128) + 128);
    n = Math.floor(n / 128);
  }
  bytes.push(n);
  return bytes;
}

/** A request's header block: every field a literal without indexing, with a literal name (RFC 7541, 6.2.2). */
function encodeHeaderBlock(host: string, path: string, headers: Record<string, string>): Buffer {
  const fields: Array<[string, string]> = [
    [":method", "POST"],
    [":scheme", "http"],
    [":authority", host],
    [":path", path],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ...Object.entries(headers).map(([name, value]): [string, string] => [name.toLowerCase(), value]),
  ];
  const bytes: number[] = [];
  for (const [name, value] of fields) {
    bytes.push(0, ...hpackLength(name.length), ...Buffer.from(name, "latin1"), ...hpackLength(Buffer.byteLength(value)), ...Buffer.from(value));
  }
  return Buffer.from(bytes);
}

/** A pre-encoded gRPC request: its header block and its body (the enveloped message). */
export interface GrpcRequest {
  headerBlock: Buffer;
  body: Buffer;
}

interface Stream {
  done: Done;
  startedAt: number;
  gotData: boolean;
  gotHeaders: boolean;
  /** END_STREAM arrived on a HEADERS frame whose block continues in CONTINUATION frames. */
  endsAfterHeaders: boolean;
}

export function createRawGrpcClient(options: RawGrpcOptions): RawClient<GrpcRequest> {
  const url = new URL(options.url);
  const timeoutMs = options.timeoutMs ?? 5000;
  const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
  const streams = new Map<number, Stream>();
  /** Calls waiting for the server's SETTINGS, a free stream or send window: request, done, when queued. */
  const queued: Array<[GrpcRequest, Done, number]> = [];
  let nextStreamId = 1;
  let sendWindow = 65_535;
  let maxConcurrent = Number.POSITIVE_INFINITY;
  // No stream opens before the server's first SETTINGS: streams beyond a MAX_CONCURRENT_STREAMS it sets there would
  // be refused (RST_STREAM REFUSED_STREAM), as the server applies its limit before this side has seen it.
  let gotSettings = false;
  let received = 0;
  let pending: Buffer | undefined;
  let failure: string | undefined;

  // The preface; no push, the largest stream window, and the largest connection window, so that answers
  // never wait for a WINDOW_UPDATE from here.
  const settings = Buffer.alloc(12);
  settings.writeUInt16BE(0x2, 0);
  settings.writeUInt32BE(0, 2);
  settings.writeUInt16BE(0x4, 6);
  settings.writeUInt32BE(maxWindow, 8);
  const increment = Buffer.alloc(4);
  increment.writeUInt32BE(maxWindow - 65_535, 0);
  socket.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"), frame(frameType.settings, 0, 0, settings), frame(frameType.windowUpdate, 0, 0, increment)]));

  function end(id: number, error: string | undefined): void {
    const stream = streams.get(id);
    if (stream === undefined) return;
    streams.delete(id);
    stream.done(error);
    flush();
  }

  function failAll(error: string): void {
    failure ??= error;
    for (const [id, stream] of streams) {
      streams.delete(id);
      stream.done(error);
    }
    for (const [, done] of queued.splice(0)) done(error);
  }

  function canSend(request: GrpcRequest): boolean {
    return gotSettings && streams.size < maxConcurrent && request.body.length <= sendWindow;
  }

  function write(request: GrpcRequest, done: Done): void {
    const id = nextStreamId;
    nextStreamId += 2;
    const { headerBlock, body } = request;
    const out = Buffer.allocUnsafe(9 + headerBlock.length + (body.length > 0 ? 9 + body.length : 0));
    frameHeader(out, 0, headerBlock.length, frameType.headers, flag.endHeaders | (body.length === 0 ? flag.endStream : 0), id);
    headerBlock.copy(out, 9);
    if (body.length > 0) {
      const at = 9 + headerBlock.length;
      frameHeader(out, at, body.length, frameType.data, flag.endStream, id);
      body.copy(out, at + 9);
      sendWindow -= body.length;
    }
    streams.set(id, { done, startedAt: performance.now(), gotData: false, gotHeaders: false, endsAfterHeaders: false });
    socket.write(out);
  }

  function flush(): void {
    while (queued.length > 0 && canSend(queued[0]![0])) {
      const [request, done] = queued.shift()!;
      write(request, done);
    }
  }

  function onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    switch (type) {
      case frameType.settings: {
        if ((flags & flag.ack) !== 0) return;
        gotSettings = true;
        for (let at = 0; at + 6 <= payload.length; at += 6) {
          if (payload.readUInt16BE(at) === 0x3) maxConcurrent = payload.readUInt32BE(at + 2);
        }
        socket.write(frame(frameType.settings, flag.ack, 0, Buffer.alloc(0)));
        flush();
        return;
      }
      case frameType.ping:
        if ((flags & flag.ack) === 0) socket.write(frame(frameType.ping, flag.ack, 0, payload));
        return;
      case frameType.windowUpdate:
        if (id === 0) {
          sendWindow += payload.readUInt32BE(0) & maxWindow;
          flush();
        }
        return;
      case frameType.goaway:
        failAll(`GOAWAY, error code ${payload.readUInt32BE(4)}`);
        socket.destroy();
        return;
      case frameType.rstStream:
        end(id, `RST_STREAM, error code ${payload.readUInt32BE(0)}`);
        return;
      case frameType.data: {
        received += payload.length;
        const stream = streams.get(id);
        // The message's bytes: the payload less its padding (a length byte, then that many bytes at the end).
        const padding = (flags & flag.padded) !== 0 && payload.length > 0 ? 1 + payload[0]! : 0;
        if (stream !== undefined && payload.length > padding) stream.gotData = true;
        if ((flags & flag.endStream) !== 0) end(id, "the stream ended without trailers");
        return;
      }
      case frameType.headers:
      case frameType.continuation: {
        const stream = streams.get(id);
        if (stream === undefined) return;
        const ends = (flags & flag.endStream) !== 0 || (type === frameType.continuation && stream.endsAfterHeaders);
        if ((flags & flag.endHeaders) === 0) {
          stream.endsAfterHeaders ||= ends;
          return;
        }
        if (!ends) {
          stream.gotHeaders = true;
          return;
        }
        if (!stream.gotHeaders) end(id, "gRPC error (a trailers-only answer: its code is in the server's metrics)");
        else end(id, stream.gotData ? undefined : "the answer's trailers came without a message");
        return;
      }
    }
  }

  socket.on("data", (chunk: Buffer) => {
    let data = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    pending = undefined;
    while (data.length >= 9) {
      const length = data.readUIntBE(0, 3);
      if (data.length < 9 + length) break;
      onFrame(data[3]!, data[4]!, data.readUInt32BE(5) & maxWindow, data.subarray(9, 9 + length));
      data = data.subarray(9 + length);
    }
    if (data.length > 0) pending = data;
    // Answers' bytes count against the connection window granted at the start (2 GB): grant it again well before.
    if (received > 2 ** 30) {
      const more = Buffer.alloc(4);
      more.writeUInt32BE(received, 0);
      socket.write(frame(frameType.windowUpdate, 0, 0, more));
      received = 0;
    }
  });
  socket.on("error", (err) => failAll(err.message));
  socket.on("close", () => failAll("connection closed"));

  const openedAt = performance.now();
  const sweeper = setInterval(() => {
    const now = performance.now();
    // Calls queued for a server that never sends its SETTINGS (not an HTTP/2 server) would otherwise wait forever.
    if (!gotSettings && now - openedAt > timeoutMs) {
      failAll("timed out (no SETTINGS from the server)");
      socket.destroy();
    }
    // Queued calls count their time too: no WINDOW_UPDATE or free stream may ever come.
    while (queued.length > 0 && now - queued[0]![2] > timeoutMs) queued.shift()![1]("timed out before it could be sent");
    for (const [id, stream] of streams) {
      if (now - stream.startedAt <= timeoutMs) continue;
      const code = Buffer.alloc(4);
      code.writeUInt32BE(0x8, 0);
      socket.write(frame(frameType.rstStream, 0, id, code));
      end(id, "timed out");
    }
  }, 100);
  sweeper.unref();

  return {
    encode(path, body, headers) {
      // One DATA frame per request, within HTTP/2's default frame size and stream window.
      if (body !== undefined && body.length > 16_384) throw new RangeError(`request bodies are sent in one frame: at most 16,384 bytes, not ${body.length}`);
      return { headerBlock: encodeHeaderBlock(url.host, path, headers ?? {}), body: body ?? Buffer.alloc(0) };
    },
    send(request, done) {
      // Later, never from within send: a closed loop that sends again on each answer must not recurse.
      if (failure !== undefined) return void setImmediate(done, failure);
      if (queued.length === 0 && canSend(request)) write(request, done);
      else queued.push([request, done, performance.now()]);
    },
    close() {
      clearInterval(sweeper);
      socket.destroy();
    },
  };
}
