import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createRawGrpcClient, type GrpcRequest, type RawGrpcOptions } from "./raw-grpc-client.ts";
import type { RawClient } from "./raw-client.ts";

interface Received {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** How the server answers one call, once its request has arrived whole. */
type Answer = (stream: http2.ServerHttp2Stream, request: Received) => void;

interface TestServer {
  url: string;
  server: http2.Http2Server;
  received: Received[];
  sessions: http2.ServerHttp2Session[];
  /** The most streams the server had open at once. */
  maxOpen: () => number;
}

const servers: net.Server[] = [];
const clients: Array<RawClient<GrpcRequest>> = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
        }),
    ),
  );
});

/** A gRPC message envelope: uncompressed, its length, then the message. */
function envelope(message: Buffer): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** A successful unary answer as a gRPC server sends it: headers, one message, trailers with grpc-status 0. */
const answerOk =
  (message = Buffer.from("reply")): Answer =>
  (stream) => {
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(envelope(message));
  };

async function startServer(answer: Answer, settings?: http2.Settings): Promise<TestServer> {
  const received: Received[] = [];
  const sessions: http2.ServerHttp2Session[] = [];
  let open = 0;
  let maxOpen = 0;
  const server = http2.createServer({ settings });
  servers.push(server);
  server.on("session", (session) => {
    sessions.push(session);
    // Sessions left open would keep server.close() waiting.
    server.once("close", () => session.destroy());
  });
  server.on("stream", (stream, headers) => {
    maxOpen = Math.max(maxOpen, ++open);
    stream.on("close", () => open--);
    stream.on("error", () => {});
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      const request = { headers, body: Buffer.concat(chunks) };
      received.push(request);
      answer(stream, request);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, server, received, sessions, maxOpen: () => maxOpen };
}

function client(options: RawGrpcOptions): RawClient<GrpcRequest> {
  const created = createRawGrpcClient(options);
  clients.push(created);
  return created;
}

function send(sender: RawClient<GrpcRequest>, request: GrpcRequest): Promise<string | undefined> {
  return new Promise((resolve) => sender.send(request, resolve));
}

const sendMany = (sender: RawClient<GrpcRequest>, requests: GrpcRequest[]) => Promise.all(requests.map((request) => send(sender, request)));

const path = "/mesh.data.v1.DataService/GetItem";

function h2frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId, 5);
  payload.copy(out, 9);
  return out;
}

interface BareServer {
  url: string;
  /** DATA bytes received on all streams. */
  dataBytes: () => number;
  /** Streams whose request has ended. */
  ended: number[];
  /** Sends frames to the (single) client. */
  write: (bytes: Buffer) => void;
}

/**
 * A bare HTTP/2 server written frame by frame, to control what node:http2 decides on its own: it sends an empty
 * SETTINGS, acknowledges the client's, and never grants flow-control window unless a test writes WINDOW_UPDATE.
 */
async function startBareServer(): Promise<BareServer> {
  let dataBytes = 0;
  const ended: number[] = [];
  let connection: net.Socket | undefined;
  const server = net.createServer((socket) => {
    connection = socket;
    socket.write(h2frame(4, 0, 0));
    let buffer = Buffer.alloc(0);
    let prefaceRead = false;
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!prefaceRead) {
        if (buffer.length < 24) return;
        buffer = buffer.subarray(24);
        prefaceRead = true;
      }
      while (buffer.length >= 9 && buffer.length >= 9 + buffer.readUIntBE(0, 3)) {
        const [length, type, flags, id] = [buffer.readUIntBE(0, 3), buffer[3]!, buffer[4]!, buffer.readUInt32BE(5)];
        if (type === 0) dataBytes += length;
        if ((type === 0 || type === 1) && (flags & 0x1) !== 0) ended.push(id);
        if (type === 4 && (flags & 0x1) === 0) socket.write(h2frame(4, 0x1, 0));
        buffer = buffer.subarray(9 + length);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, dataBytes: () => dataBytes, ended, write: (bytes) => connection!.write(bytes) };
}

/** `:status: 200` from HPACK's static table; the client reads no header values, only the frames' shape. */
const status200 = Buffer.from([0x88]);

describe("createRawGrpcClient", () => {
  it("sends the path, gRPC headers, extra headers and body, and counts a message with trailers as a success", async () => {
    const server = await startServer(answerOk());
    const sender = client({ url: server.url });
    const body = envelope(Buffer.from([8, 1, 18, 3, 0xff, 0x00, 0x7f]));
    const long = "v".repeat(1000);
    const request = sender.encode(path, body, { "X-Request-Id": "r-1", "x-long": long });
    expect(await send(sender, request)).toBeUndefined();

    const [call] = server.received;
    expect(call!.headers).toMatchObject({
      ":method": "POST",
      ":scheme": "http",
      ":authority": new URL(server.url).host,
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      "x-request-id": "r-1",
      "x-long": long,
    });
    expect(call!.body.equals(body)).toBe(true);
  });

  it("sends a call without a body as a HEADERS frame that ends the stream", async () => {
    const server = await startServer(answerOk());
    const sender = client({ url: server.url });
    expect(await send(sender, sender.encode(path, undefined, undefined))).toBeUndefined();
    expect(server.received[0]!.body.length).toBe(0);
  });

  it("reads an answer larger than one frame and one socket read", async () => {
    const server = await startServer(answerOk(Buffer.alloc(300_000, 7)));
    const sender = client({ url: server.url });
    expect(await sendMany(sender, Array.from({ length: 5 }, () => sender.encode(path, envelope(Buffer.from("x")), undefined)))).toEqual(Array(5).fill(undefined));
  });

  it("counts a trailers-only answer as an error", async () => {
    const server = await startServer((stream) => stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "5", "grpc-message": "not found" }, { endStream: true }));
    const sender = client({ url: server.url });
    const error = await send(sender, sender.encode(path, envelope(Buffer.from("x")), undefined));
    expect(error).toMatch(/trailers-only/);
  });

  it("counts a stream that ends with its data, without trailers, as an error", async () => {
    const server = await startServer((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
      stream.end(envelope(Buffer.from("reply")));
    });
    const sender = client({ url: server.url });
    expect(await send(sender, sender.encode(path, envelope(Buffer.from("x")), undefined))).toBe("the stream ended without trailers");
  });

  it("completes 500 concurrent calls on one session", async () => {
    const server = await startServer(answerOk());
    const sender = client({ url: server.url });
    const requests = Array.from({ length: 500 }, (_, i) => sender.encode(path, envelope(Buffer.from(`call ${i}`)), { "x-call": String(i) }));
    expect(await sendMany(sender, requests)).toEqual(Array(500).fill(undefined));
    expect(server.sessions).toHaveLength(1);
    expect(server.received).toHaveLength(500);
    for (const call of server.received) expect(call.body.subarray(5).toString()).toBe(`call ${call.headers["x-call"]}`);
  });

  it("waits for WINDOW_UPDATE when the request bodies outgrow the connection's send window", async () => {
    const server = await startServer(answerOk());
    const sender = client({ url: server.url });
    const requests = Array.from({ length: 200 }, (_, i) => sender.encode(path, envelope(Buffer.alloc(1024, i)), undefined));
    expect(await sendMany(sender, requests)).toEqual(Array(200).fill(undefined));
    expect(server.received).toHaveLength(200);
    expect(server.received.reduce((sum, call) => sum + call.body.length, 0)).toBe(200 * 1029);
    for (const call of server.received) expect(call.body.length).toBe(1029);
  });

  it("keeps to the server's MAX_CONCURRENT_STREAMS", async () => {
    const server = await startServer((stream, request) => setTimeout(() => answerOk()(stream, request), 20), { maxConcurrentStreams: 2 });
    const sender = client({ url: server.url });
    const requests = Array.from({ length: 20 }, () => sender.encode(path, envelope(Buffer.from("x")), undefined));
    expect(await sendMany(sender, requests)).toEqual(Array(20).fill(undefined));
    expect(server.received).toHaveLength(20);
    expect(server.maxOpen()).toBeLessThanOrEqual(2);
  });

  it("acknowledges the server's SETTINGS and PING", async () => {
    const server = await startServer(answerOk());
    const sender = client({ url: server.url });
    expect(await send(sender, sender.encode(path, undefined, undefined))).toBeUndefined();
    const session = server.sessions[0]!;
    expect(session.pendingSettingsAck).toBe(false);
    const pinged = await new Promise<boolean>((resolve, reject) => session.ping(Buffer.from("12345678"), (err, _ms, payload) => (err ? reject(err) : resolve(payload.toString() === "12345678"))));
    expect(pinged).toBe(true);
    expect(await send(sender, sender.encode(path, undefined, undefined))).toBeUndefined();
  });

  it("fails a call whose stream the server resets, and goes on with the others", async () => {
    const server = await startServer((stream, request) => {
      if (request.headers["x-refuse"] === "yes") stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      else answerOk()(stream, request);
    });
    const sender = client({ url: server.url });
    const [refused, fine] = await sendMany(sender, [sender.encode(path, envelope(Buffer.from("x")), { "x-refuse": "yes" }), sender.encode(path, envelope(Buffer.from("x")), undefined)]);
    expect(refused).toMatch(/RST_STREAM/);
    expect(refused).toContain(String(http2.constants.NGHTTP2_REFUSED_STREAM));
    expect(fine).toBeUndefined();
  });

  it("times out a call the server never answers and cancels its stream", async () => {
    const resets: number[] = [];
    const server = await startServer((stream, request) => {
      if (request.headers["x-never"] === "yes") stream.on("close", () => resets.push(stream.rstCode));
      else answerOk()(stream, request);
    });
    const sender = client({ url: server.url, timeoutMs: 300 });
    const started = performance.now();
    expect(await send(sender, sender.encode(path, envelope(Buffer.from("x")), { "x-never": "yes" }))).toBe("timed out");
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    // The session stays usable, and the server learns the call was cancelled.
    expect(await send(sender, sender.encode(path, envelope(Buffer.from("x")), undefined))).toBeUndefined();
    await expect.poll(() => resets).toEqual([http2.constants.NGHTTP2_CANCEL]);
  });

  it.each([
    ["GOAWAY", (session: http2.ServerHttp2Session) => session.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR)],
    ["destroy", (session: http2.ServerHttp2Session) => session.destroy()],
  ])("fails every pending call when the server ends the session (%s)", async (_name, end) => {
    let arrived = 0;
    const server = await startServer(() => arrived++);
    const sender = client({ url: server.url });
    const pending = sendMany(sender, Array.from({ length: 5 }, () => sender.encode(path, envelope(Buffer.from("x")), undefined)));
    await expect.poll(() => arrived).toBe(5);
    end(server.sessions[0]!);
    const results = await pending;
    for (const result of results) expect(result).toBeTypeOf("string");
    // Later calls fail at once rather than wait for a session that will not come back, but never from
    // within send: a closed loop that sends again on each answer would recurse without end.
    let answered = false;
    const later = new Promise<string | undefined>((resolve) =>
      sender.send(sender.encode(path, undefined, undefined), (error) => {
        answered = true;
        resolve(error);
      }),
    );
    expect(answered).toBe(false);
    expect(await later).toBeTypeOf("string");
  });

  it("times out a call that waits for a free stream and never gets one", async () => {
    // One stream at a time, and the first call is never answered: the second waits in the client's queue.
    const server = await startServer(() => {}, { maxConcurrentStreams: 1 });
    const sender = client({ url: server.url, timeoutMs: 300 });
    const results = await sendMany(sender, Array.from({ length: 2 }, () => sender.encode(path, envelope(Buffer.from("x")), undefined)));
    expect(results).toEqual(["timed out", "timed out before it could be sent"]);
    expect(server.received).toHaveLength(1);
  });

  it("counts headers then trailers without a message as an error", async () => {
    const server = await startServer((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end();
    });
    const sender = client({ url: server.url });
    expect(await send(sender, sender.encode(path, envelope(Buffer.from("x")), undefined))).toBe("the answer's trailers came without a message");
  });

  it("times out calls to a server that accepts the connection and never speaks HTTP/2", async () => {
    const silent = net.createServer((socket) => socket.resume());
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const sender = client({ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, timeoutMs: 300 });
    const results = await sendMany(sender, Array.from({ length: 3 }, () => sender.encode(path, undefined, undefined)));
    for (const result of results) expect(result).toMatch(/^timed out/);
  });

  it("sends no more DATA than the connection window the server granted", async () => {
    const server = await startBareServer();
    const sender = client({ url: server.url });
    const body = envelope(Buffer.alloc(1024));
    const pending = sendMany(sender, Array.from({ length: 100 }, () => sender.encode(path, body, undefined)));
    const fitting = Math.floor(65_535 / body.length);
    await expect.poll(() => server.dataBytes()).toBe(fitting * body.length);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.dataBytes()).toBe(fitting * body.length);

    const increment = Buffer.alloc(4);
    increment.writeUInt32BE(65_535, 0);
    server.write(h2frame(8, 0, 0, increment));
    await expect.poll(() => server.ended.length).toBe(100);
    expect(server.dataBytes()).toBe(100 * body.length);
    for (const id of server.ended) server.write(Buffer.concat([h2frame(1, 0x4, id, status200), h2frame(0, 0, id, envelope(Buffer.from("ok"))), h2frame(1, 0x5, id)]));
    expect(await pending).toEqual(Array(100).fill(undefined));
  });

  it("reads header blocks continued in CONTINUATION frames", async () => {
    const server = await startBareServer();
    const sender = client({ url: server.url });
    const pending = sendMany(sender, [sender.encode(path, undefined, undefined), sender.encode(path, undefined, undefined)]);
    await expect.poll(() => server.ended.length).toBe(2);
    const [answered, trailersOnly] = server.ended as [number, number];
    // A message between headers and trailers, each block split in two: a success.
    server.write(
      Buffer.concat([h2frame(1, 0, answered), h2frame(9, 0x4, answered, status200), h2frame(0, 0, answered, envelope(Buffer.from("ok"))), h2frame(1, 0x1, answered), h2frame(9, 0x4, answered)]),
    );
    // END_STREAM on a HEADERS frame whose block ends in a CONTINUATION, with no message: a trailers-only error.
    server.write(Buffer.concat([h2frame(1, 0x1, trailersOnly, status200), h2frame(9, 0, trailersOnly), h2frame(9, 0x4, trailersOnly)]));
    const [ok, error] = await pending;
    expect(ok).toBeUndefined();
    expect(error).toMatch(/trailers-only/);
  });

  it("fails calls when nothing listens", async () => {
    const server = await startServer(answerOk());
    const url = server.url;
    await new Promise<void>((resolve) => server.server.close(() => resolve()));
    servers.splice(servers.indexOf(server.server), 1);
    const sender = client({ url });
    const results = await sendMany(sender, Array.from({ length: 3 }, () => sender.encode(path, undefined, undefined)));
    for (const result of results) expect(result).toMatch(/ECONNREFUSED|connection closed/);
  });

  it("fails pending calls when closed", async () => {
    const server = await startServer(() => {});
    const sender = client({ url: server.url });
    const pending = sendMany(sender, Array.from({ length: 3 }, () => sender.encode(path, undefined, undefined)));
    await expect.poll(() => server.received.length).toBe(3);
    sender.close();
    for (const result of await pending) expect(result).toBeTypeOf("string");
  });
});
