import http from "node:http";
import http2 from "node:http2";

export interface SentRequest {
  method?: string;
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
}

export interface Received {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text(): string;
  json(): unknown;
}

function received(status: number, headers: Received["headers"], body: Buffer): Received {
  return { status, headers, body, text: () => body.toString("utf8"), json: () => JSON.parse(body.toString("utf8")) as unknown };
}

/** One HTTP/1.1 request with Node's own client: any method Node parses, any header, raw bytes. */
export function send(baseUrl: string, request: SentRequest): Promise<Received> {
  const url = new URL(baseUrl);
  const headers = { ...request.headers };
  // Node sends a DELETE body without framing unless told its length.
  if (request.body !== undefined && headers["content-length"] === undefined) headers["content-length"] = String(Buffer.byteLength(request.body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: request.method ?? "GET", path: request.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(received(res.statusCode ?? 0, res.headers, Buffer.concat(chunks))));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(request.body);
  });
}

/** The same over an HTTP/2 session (prior knowledge), which allows any method token. */
export function send2(session: http2.ClientHttp2Session, request: SentRequest): Promise<Received> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": request.method ?? "GET", ":path": request.path, ...request.headers }, { endStream: request.body === undefined });
    const chunks: Buffer[] = [];
    let status = 0;
    let headers: Received["headers"] = {};
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      headers = h as Received["headers"];
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve(received(status, headers, Buffer.concat(chunks))));
    stream.on("error", reject);
    stream.end(request.body);
  });
}
