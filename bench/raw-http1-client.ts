// An HTTP/1.1 client for the load generator, on bare sockets: it writes pre-encoded requests and reads only
// the status line, the framing headers and the body's length. node:http's client allocates several KB of
// objects per request, some of which live long enough to be promoted, and the generator's own GC pauses then
// land in every latency it measures; this one allocates a few hundred bytes per request.
import net from "node:net";
import type { Done, RawClient } from "./raw-client.ts";

export interface RawHttp1Options {
  url: string;
  /** @default POST with a body, GET without */
  method?: "GET" | "POST";
  /** The content-type of requests with a body. */
  contentType?: string;
  /** Keep-alive connections at most; requests beyond them wait for a free one. @default 64 */
  connections?: number;
  /** A request not answered within it fails with "timed out", and its connection is closed. @default 5000 */
  timeoutMs?: number;
}

interface Connection {
  socket: net.Socket;
  /** The request under way, if any. */
  done: Done | undefined;
  startedAt: number;
  /** Bytes received and not yet parsed. */
  pending: Buffer | undefined;
}

const crlfcrlf = Buffer.from("\r\n\r\n");

/**
 * Parses one response at the start of `data`: its length in bytes and its status, or undefined when more
 * bytes are needed. Bodies are framed by content-length or chunked transfer-encoding.
 */
function parseResponse(data: Buffer): { length: number; status: number; bodyStart: number; close: boolean } | undefined {
  const headEnd = data.indexOf(crlfcrlf);
  if (headEnd < 0) return undefined;
  const status = Number(data.toString("latin1", 9, 12));
  const head = data.toString("latin1", 0, headEnd).toLowerCase();
  const bodyStart = headEnd + 4;
  // The server ends the connection after this answer (nginx does after keepalive_requests answers).
  const close = head.includes("\r\nconnection: close");
  const lengthAt = head.indexOf("\r\ncontent-length:");
  if (lengthAt >= 0) {
    const length = Number.parseInt(head.slice(lengthAt + 17), 10);
    return data.length >= bodyStart + length ? { length: bodyStart + length, status, bodyStart, close } : undefined;
  }
  if (head.includes("\r\ntransfer-encoding: chunked")) {
    let at = bodyStart;
    for (;;) {
      const lineEnd = data.indexOf("\r\n", at, "latin1");
      if (lineEnd < 0) return undefined;
      const size = Number.parseInt(data.toString("latin1", at, lineEnd), 16);
      // The chunk, then its CRLF; the last chunk (size 0) ends with an empty line (no trailers are sent).
      at = lineEnd + 2 + size + 2;
      if (data.length < at) return undefined;
      if (size === 0) return { length: at, status, bodyStart, close };
    }
  }
  // No framing: a 204 or 304, or a body that runs to the connection's end (not used by the servers measured).
  return { length: bodyStart, status, bodyStart, close };
}

export function createRawHttp1Client(options: RawHttp1Options): RawClient<Buffer> {
  const url = new URL(options.url);
  const maxConnections = options.connections ?? 64;
  const timeoutMs = options.timeoutMs ?? 5000;
  const idle: Connection[] = [];
  const all = new Set<Connection>();
  const waiting: Array<[Buffer, Done]> = [];
  let closed = false;

  function finish(connection: Connection, error: string | undefined): void {
    const done = connection.done;
    connection.done = undefined;
    done?.(error);
  }

  function release(connection: Connection): void {
    const next = waiting.shift();
    if (next !== undefined) start(connection, next[0], next[1]);
    else idle.push(connection);
  }

  function drop(connection: Connection, error: string): void {
    all.delete(connection);
    const at = idle.indexOf(connection);
    if (at >= 0) idle.splice(at, 1);
    connection.socket.destroy();
    finish(connection, error);
    // A request that waited for a connection gets a new one.
    if (!closed && waiting.length > 0 && all.size < maxConnections) {
      const next = waiting.shift()!;
      start(open(), next[0], next[1]);
    }
  }

  function open(): Connection {
    const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    const connection: Connection = { socket, done: undefined, startedAt: 0, pending: undefined };
    all.add(connection);
    socket.on("data", (chunk: Buffer) => {
      let data = connection.pending === undefined ? chunk : Buffer.concat([connection.pending, chunk]);
      connection.pending = undefined;
      while (data.length > 0) {
        const response = parseResponse(data);
        if (response === undefined) {
          connection.pending = data;
          return;
        }
        const ok = response.status >= 200 && response.status < 300;
        const error = ok ? undefined : `http ${response.status} ${data.toString("utf8", response.bodyStart, Math.min(response.length, response.bodyStart + 200))}`;
        data = data.subarray(response.length);
        finish(connection, error);
        if (response.close) {
          // Not reused: the next request goes on another connection rather than onto one being closed.
          drop(connection, "connection closed");
          return;
        }
        release(connection);
      }
    });
    socket.on("error", (err) => drop(connection, err.message));
    socket.on("close", () => drop(connection, "connection closed"));
    return connection;
  }

  function start(connection: Connection, request: Buffer, done: Done): void {
    connection.done = done;
    connection.startedAt = performance.now();
    connection.socket.write(request);
  }

  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const connection of all) if (connection.done !== undefined && now - connection.startedAt > timeoutMs) drop(connection, "timed out");
  }, 100);
  sweeper.unref();

  return {
    encode(path, body, headers) {
      const method = options.method ?? (body === undefined ? "GET" : "POST");
      let head = `${method} ${path} HTTP/1.1\r\nhost: ${url.host}\r\n`;
      if (body !== undefined && options.contentType !== undefined) head += `content-type: ${options.contentType}\r\n`;
      for (const [name, value] of Object.entries(headers ?? {})) head += `${name}: ${value}\r\n`;
      if (body !== undefined) head += `content-length: ${body.length}\r\n`;
      head += "\r\n";
      return body === undefined ? Buffer.from(head, "latin1") : Buffer.concat([Buffer.from(head, "latin1"), body]);
    },
    send(request, done) {
      // Later, never from within send: a closed loop that sends again on each answer must not recurse.
      if (closed) return void setImmediate(done, "client closed");
      const connection = idle.pop() ?? (all.size < maxConnections ? open() : undefined);
      if (connection === undefined) waiting.push([request, done]);
      else start(connection, request, done);
    },
    close() {
      closed = true;
      clearInterval(sweeper);
      // Requests under way fail as their sockets close; those still waiting for a connection would never start.
      for (const [, done] of waiting.splice(0)) done("client closed");
      for (const connection of all) connection.socket.destroy();
    },
  };
}
