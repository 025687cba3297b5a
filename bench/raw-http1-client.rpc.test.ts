import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { RawClient } from "./raw-client.ts";
import { createRawHttp1Client, type RawHttp1Options } from "./raw-http1-client.ts";

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface TestServer {
  url: string;
  /** Every request the server read, in order. */
  received: Received[];
  /** Sockets the server accepted. */
  sockets: Set<net.Socket>;
}

const servers: net.Server[] = [];
const clients: Array<RawClient<Buffer>> = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          if (server instanceof http.Server) server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

async function listen(server: net.Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A node:http server that reads each request whole, then hands it to `answer`. */
async function startServer(answer: (req: Received, res: http.ServerResponse) => void): Promise<TestServer> {
  const received: Received[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
      received.push(request);
      answer(request, res);
    });
  });
  server.on("connection", (socket: net.Socket) => sockets.add(socket));
  return { url: await listen(server), received, sockets };
}

function client(options: RawHttp1Options): RawClient<Buffer> {
  const created = createRawHttp1Client(options);
  clients.push(created);
  return created;
}

function send(sender: RawClient<Buffer>, request: Buffer): Promise<string | undefined> {
  return new Promise((resolve) => sender.send(request, resolve));
}

const ok = (_req: Received, res: http.ServerResponse) => res.end("ok");

describe("createRawHttp1Client", () => {
  it("sends the method, path, content-type, content-length, extra headers and body as encoded", async () => {
    const server = await startServer(ok);
    const sender = client({ url: server.url, contentType: "application/json" });
    const body = Buffer.from(JSON.stringify({ name: "ünïcode" }));
    expect(await send(sender, sender.encode("/items?x=1", body, { "x-request-id": "r-1", "X-Tenant": "t" }))).toBeUndefined();
    expect(await send(sender, sender.encode("/health", undefined, undefined))).toBeUndefined();

    const [post, get] = server.received;
    expect(post).toMatchObject({ method: "POST", url: "/items?x=1" });
    expect(post!.headers).toMatchObject({
      host: new URL(server.url).host,
      "content-type": "application/json",
      "content-length": String(body.length),
      "x-request-id": "r-1",
      "x-tenant": "t",
    });
    expect(post!.body.equals(body)).toBe(true);
    expect(get).toMatchObject({ method: "GET", url: "/health" });
    expect(get!.headers["content-length"]).toBeUndefined();
    expect(get!.headers["content-type"]).toBeUndefined();
    expect(get!.body.length).toBe(0);
  });

  it("uses the configured method", async () => {
    const server = await startServer(ok);
    const sender = client({ url: server.url, method: "POST" });
    expect(await send(sender, sender.encode("/empty", undefined, undefined))).toBeUndefined();
    expect(server.received[0]).toMatchObject({ method: "POST", url: "/empty" });
  });

  it("reports a 200 with a content-length as a success", async () => {
    const server = await startServer((_req, res) => {
      res.setHeader("content-length", "11");
      res.end("hello world");
    });
    const sender = client({ url: server.url });
    expect(await send(sender, sender.encode("/", undefined, undefined))).toBeUndefined();
  });

  it("reads a chunked 200 written in parts, then answers the next request on the same connection", async () => {
    const server = await startServer((req, res) => {
      res.write(`first part of ${req.url}\n`);
      setTimeout(() => {
        res.write("second part");
        res.end();
      }, 20);
    });
    const sender = client({ url: server.url, connections: 1 });
    expect(await send(sender, sender.encode("/one", undefined, undefined))).toBeUndefined();
    expect(await send(sender, sender.encode("/two", undefined, undefined))).toBeUndefined();
    expect(server.received.map((r) => r.url)).toEqual(["/one", "/two"]);
    expect(server.sockets.size).toBe(1);
  });

  it("reads a 204 without a body, then the next answer", async () => {
    let n = 0;
    const server = await startServer((_req, res) => {
      res.statusCode = n++ === 0 ? 204 : 200;
      res.end(res.statusCode === 200 ? "after" : undefined);
    });
    const sender = client({ url: server.url, connections: 1 });
    expect(await send(sender, sender.encode("/", undefined, undefined))).toBeUndefined();
    expect(await send(sender, sender.encode("/", undefined, undefined))).toBeUndefined();
  });

  it.each([
    [404, "no such route: /missing"],
    [500, "internal error"],
  ])("reports a %i with its status and body", async (status, text) => {
    const server = await startServer((_req, res) => {
      res.statusCode = status;
      res.end(text);
    });
    const sender = client({ url: server.url });
    expect(await send(sender, sender.encode("/missing", undefined, undefined))).toBe(`http ${status} ${text}`);
    // The connection stays usable after an error status.
    expect(await send(sender, sender.encode("/missing", undefined, undefined))).toBe(`http ${status} ${text}`);
    expect(server.sockets.size).toBe(1);
  });

  it("reports only the first 200 bytes of a long error body", async () => {
    const server = await startServer((_req, res) => {
      res.statusCode = 503;
      res.end("x".repeat(5000));
    });
    const sender = client({ url: server.url });
    expect(await send(sender, sender.encode("/", undefined, undefined))).toBe(`http 503 ${"x".repeat(200)}`);
  });

  it("sends many requests in turn on one keep-alive connection", async () => {
    const server = await startServer((req, res) => res.end(req.url));
    const sender = client({ url: server.url, connections: 1 });
    for (let i = 0; i < 20; i++) expect(await send(sender, sender.encode(`/${i}`, Buffer.from(`body ${i}`), undefined))).toBeUndefined();
    expect(server.received.map((r) => r.body.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `body ${i}`));
    expect(server.sockets.size).toBe(1);
  });

  it("queues requests beyond its connections and completes them all", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const server = await startServer((_req, res) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      setTimeout(() => {
        inFlight--;
        res.end("late");
      }, 30);
    });
    const sender = client({ url: server.url, connections: 2 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => send(sender, sender.encode(`/${i}`, Buffer.from("{}"), undefined))));
    expect(results).toEqual(Array(10).fill(undefined));
    expect(server.received).toHaveLength(10);
    expect(server.sockets.size).toBeLessThanOrEqual(2);
    expect(maxInFlight).toBe(2);
  });

  it("does not reuse a connection whose answer says connection: close (nginx after keepalive_requests)", async () => {
    // Every third answer ends its connection, as nginx's last answer on a connection does.
    let answered = 0;
    const server = await startServer((_req, res) => {
      if (++answered % 3 === 0) res.setHeader("connection", "close");
      res.end("ok");
    });
    const sender = client({ url: server.url, connections: 1 });
    const request = sender.encode("/", undefined, undefined);
    // A closed loop: each answer sends the next request at once, onto whatever connection is free.
    const errors = await new Promise<Array<string | undefined>>((resolve) => {
      const seen: Array<string | undefined> = [];
      const next = (error: string | undefined) => {
        seen.push(error);
        if (seen.length === 30) resolve(seen);
        else sender.send(request, next);
      };
      sender.send(request, next);
    });
    expect(errors).toEqual(Array(30).fill(undefined));
    expect(server.received).toHaveLength(30);
    expect(server.sockets.size).toBe(10);
  });

  it("lets a done callback send the next request at once (a closed loop)", async () => {
    const server = await startServer(ok);
    const sender = client({ url: server.url, connections: 1 });
    const request = sender.encode("/", undefined, undefined);
    const errors = await new Promise<Array<string | undefined>>((resolve) => {
      const seen: Array<string | undefined> = [];
      const next = (error: string | undefined) => {
        seen.push(error);
        if (seen.length === 50) resolve(seen);
        else sender.send(request, next);
      };
      sender.send(request, next);
    });
    expect(errors).toEqual(Array(50).fill(undefined));
    expect(server.sockets.size).toBe(1);
  });

  it("reads answers that arrive a few bytes at a time", async () => {
    const answer = Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    const chunked = Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
    let n = 0;
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      socket.on("data", async () => {
        const bytes = n++ % 2 === 0 ? answer : chunked;
        for (let at = 0; at < bytes.length; at += 3) {
          socket.write(bytes.subarray(at, at + 3));
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      });
    });
    const sender = client({ url: await listen(server), connections: 1 });
    for (let i = 0; i < 4; i++) expect(await send(sender, sender.encode("/", undefined, undefined))).toBeUndefined();
  });

  it("fails a request the server never answers with 'timed out', and recovers on a new connection", async () => {
    const server = await startServer((req, res) => {
      if (req.url !== "/never") res.end("ok");
    });
    const sender = client({ url: server.url, connections: 1, timeoutMs: 300 });
    const started = performance.now();
    expect(await send(sender, sender.encode("/never", undefined, undefined))).toBe("timed out");
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(await send(sender, sender.encode("/fine", undefined, undefined))).toBeUndefined();
    expect(server.sockets.size).toBe(2);
  });

  it("gives a request that waited for the timed-out connection a new one", async () => {
    const server = await startServer((req, res) => {
      if (req.url !== "/never") res.end("ok");
    });
    const sender = client({ url: server.url, connections: 1, timeoutMs: 300 });
    const [never, waited] = await Promise.all([send(sender, sender.encode("/never", undefined, undefined)), send(sender, sender.encode("/fine", undefined, undefined))]);
    expect(never).toBe("timed out");
    expect(waited).toBeUndefined();
  });

  it("fails a request whose connection the server closes", async () => {
    const server = await startServer((req, res) => {
      if (req.url === "/close") res.socket!.destroy();
      else res.end("ok");
    });
    const sender = client({ url: server.url, connections: 1, timeoutMs: 5000 });
    const error = await send(sender, sender.encode("/close", undefined, undefined));
    expect(error).toBeTypeOf("string");
    expect(error).not.toBe("timed out");
    expect(await send(sender, sender.encode("/fine", undefined, undefined))).toBeUndefined();
  });

  it("fails requests when nothing listens", async () => {
    const server = net.createServer();
    const url = await listen(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    servers.splice(servers.indexOf(server), 1);
    const sender = client({ url, connections: 1, timeoutMs: 5000 });
    const results = await Promise.all(Array.from({ length: 3 }, () => send(sender, sender.encode("/", undefined, undefined))));
    for (const result of results) expect(result).toMatch(/ECONNREFUSED|connection closed/);
  });

  it("answers every request once when closed, including those waiting for a connection", async () => {
    const server = await startServer(() => {});
    const sender = client({ url: server.url, connections: 1 });
    const calls: Array<string | undefined> = [];
    const pending = Array.from({ length: 3 }, () => new Promise<void>((resolve) => sender.send(sender.encode("/", undefined, undefined), (error) => (calls.push(error), resolve()))));
    await new Promise((resolve) => setTimeout(resolve, 50));
    sender.close();
    await Promise.all(pending);
    expect(calls).toHaveLength(3);
    for (const error of calls) expect(error).toBeTypeOf("string");
    expect(await send(sender, sender.encode("/", undefined, undefined))).toBe("client closed");
  });
});
