// The cheapest two-hop Node.js stack that does what the mesh's REST path does, built only as a benchmark
// floor: an HTTP/1.1 proxy that turns GET /v1/items/:id into a gRPC call over HTTP/2 to one of two servers
// (round robin), and servers that answer it with one Valkey GET. No validation, protobuf or JSON codec,
// metrics, tracing, retries, breakers or auth: whatever a real gateway and backend in Node cost, it is more.
//   node bench/seed/two-hop-floor.ts proxy PORT UPSTREAM_URL...
//   node bench/seed/two-hop-floor.ts server PORT REDIS_URL KEY_PREFIX
import http from "node:http";
import http2 from "node:http2";
import { Redis } from "ioredis";

const [mode, port, ...rest] = process.argv.slice(2) as [string, string, ...string[]];

/** A gRPC length-prefixed message. */
function envelope(message: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, 5);
  return framed;
}

if (mode === "server") {
  const [redisUrl, prefix] = rest as [string, string];
  const redis = new Redis(redisUrl);
  const server = http2.createServer();
  server.on("stream", (stream) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      // The request message is field 1 (the id, a short string): tag 0x0a, one length byte, the bytes.
      const body = Buffer.concat(chunks);
      const id = body.toString("utf8", 7, 7 + body[6]!);
      redis.getBuffer(`${prefix}${id}`).then(
        (value) => {
          stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
          stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": value === null ? "5" : "0" }));
          stream.end(value === null ? undefined : envelope(value));
        },
        () => stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "14" }, { endStream: true }),
      );
    });
  });
  server.listen(Number(port), "127.0.0.1");
} else {
  // One HTTP/2 connection per server, opened on first use and again after it closes.
  const sessions: Array<http2.ClientHttp2Session | undefined> = rest.map(() => undefined);
  const session = (i: number) => {
    let open = sessions[i];
    if (open === undefined || open.closed || open.destroyed) {
      open = sessions[i] = http2.connect(rest[i]!);
      open.on("error", () => {});
    }
    return open;
  };
  let next = 0;
  const server = http.createServer((req, res) => {
    const id = Buffer.from(req.url!.slice("/v1/items/".length));
    const message = Buffer.allocUnsafe(2 + id.length);
    message[0] = 0x0a;
    message[1] = id.length;
    id.copy(message, 2);
    const stream = session(next++ % sessions.length).request({ ":method": "POST", ":path": "/mesh.data.v1.DataService/GetItem", "content-type": "application/grpc", te: "trailers" });
    const chunks: Buffer[] = [];
    stream.on("response", (headers) => {
      // A trailers-only answer (an error) carries its status in the headers.
      if (headers["grpc-status"] !== undefined && !res.headersSent) res.writeHead(503).end();
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("trailers", (trailers) => {
      const ok = trailers["grpc-status"] === "0";
      const json = ok ? Buffer.concat(chunks).subarray(5) : Buffer.from('{"error":"not found"}');
      res.writeHead(ok ? 200 : 404, { "content-type": "application/json", "content-length": json.length });
      res.end(json);
    });
    stream.on("error", () => {
      if (!res.headersSent) res.writeHead(503).end();
      else res.destroy();
    });
    stream.end(envelope(message));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(port), "127.0.0.1");
}
process.on("SIGTERM", () => process.exit(0));
