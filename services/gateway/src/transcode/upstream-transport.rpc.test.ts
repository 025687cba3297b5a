import http from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataService } from "../../../../gen/mesh/data/v1/data_pb.ts";
import { QueueService } from "../../../../gen/mesh/queue/v1/queue_pb.ts";
import { invalidArgument } from "../../../../lib/errors/connect-errors.ts";
import { getFreePort } from "../../../../lib/infra/free-port.ts";
import { createLogger } from "../../../../lib/logging/create-logger.ts";
import { createMeshServer, type MeshServer } from "../../../../lib/server/mesh-server.ts";
import { createUpstream, type Upstream } from "../upstream.ts";
import { startRestHarness, type RestHarness } from "./test-support/rest-harness.ts";
import { send } from "./test-support/send.ts";
import { createUpstreamTransport, type UpstreamProtocol } from "./upstream-transport.ts";

let server: MeshServer;
let upstream: Upstream;
const protocols: UpstreamProtocol[] = ["grpc", "connect"];
const harnesses = new Map<UpstreamProtocol, RestHarness>();
const seenProtocols: string[] = [];
const cancelled: string[] = [];

beforeAll(async () => {
  server = createMeshServer({
    logger: createLogger({ service: "upstream", instance: "u", level: "silent" }),
    routes(router) {
      router.service(DataService, {
        async getItem(req, ctx) {
          seenProtocols.push(ctx.requestHeader.get("content-type") ?? "");
          if (req.id === "gone") throw new ConnectError("item gone", Code.NotFound);
          if (req.id === "gave-up") throw new ConnectError("the upstream gave up", Code.Canceled, { "x-fault": "yes" });
          if (req.id === "bad") throw invalidArgument("id", "must be a UUID");
          if (req.id === "slow") {
            await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
            cancelled.push(String(ctx.signal.reason));
            throw new ConnectError("too late", Code.DeadlineExceeded);
          }
          ctx.responseHeader.set("x-from", "header");
          ctx.responseTrailer.set("x-trail", "trailer");
          return { item: { id: req.id, name: "n" } };
        },
      });
      router.service(QueueService, {
        async *consume(req) {
          if (req.queue === "none") throw new ConnectError("no such queue", Code.NotFound);
          yield { message: { leaseToken: "t1" } };
        },
      });
    },
  });
  await server.listen();
  upstream = createUpstream(server.url);
  for (const protocol of protocols) {
    const transport = createUpstreamTransport(upstream, protocol);
    harnesses.set(protocol, await startRestHarness([DataService, QueueService], { transportFor: () => transport }));
  }
});

afterAll(async () => {
  for (const h of harnesses.values()) await h.close();
  upstream.close();
  await server.close(0);
});

describe.each(protocols)("REST to an upstream over %s on the pass-through's HTTP/2 session", (protocol) => {
  it("calls, and maps errors", async () => {
    const h = harnesses.get(protocol)!;
    const ok = await send(h.url, { path: "/v1/items/a1" });
    expect({ status: ok.status, json: ok.json() }).toEqual({ status: 200, json: { item: { id: "a1", name: "n" } } });
    expect(seenProtocols.at(-1)).toBe(protocol === "grpc" ? "application/grpc+proto" : "application/proto");
    expect(ok.headers["x-from"]).toBe("header");
    expect(ok.headers["x-trail"]).toBe("trailer");
    const gone = await send(h.url, { path: "/v1/items/gone" });
    expect(gone.status).toBe(404);
  });

  it("keeps the upstream's error details", async () => {
    const h = harnesses.get(protocol)!;
    const bad = await send(h.url, { path: "/v1/items/bad", headers: { "x-request-id": "r-bad" } });
    expect({ status: bad.status, json: bad.json() }).toEqual({
      status: 400,
      json: {
        code: 3,
        message: "id: must be a UUID",
        details: [
          { "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ field: "id", description: "must be a UUID" }] },
          { "@type": "type.googleapis.com/google.rpc.RequestInfo", requestId: "r-bad" },
        ],
      },
    });
  });

  it("ends a call at its deadline with 504, and the upstream sees the cancellation", async () => {
    const h = harnesses.get(protocol)!;
    const before = cancelled.length;
    const res = await send(h.url, { path: "/v1/items/slow", headers: { "grpc-timeout": "50m" } });
    expect(res.status).toBe(504);
    expect((res.json() as { code: number }).code).toBe(4);
    while (cancelled.length === before) await new Promise((r) => setTimeout(r, 5));
  });

  it("answers a stream that fails before its first message with the error's status", async () => {
    const h = harnesses.get(protocol)!;
    const res = await send(h.url, { method: "POST", path: "/v1/queues/none:consume", body: "{}" });
    expect({ status: res.status, code: (res.json() as { code: number }).code }).toEqual({ status: 404, code: 5 });
    const ok = await send(h.url, { method: "POST", path: "/v1/queues/q:consume", body: "{}" });
    expect(ok.text()).toBe('{"result":{"message":{"leaseToken":"t1"}}}\n');
  });
});

describe.each(protocols)("a REST client that goes away (%s upstream)", (protocol) => {
  it("cancels the upstream call", async () => {
    const h = harnesses.get(protocol)!;
    const before = cancelled.length;
    const calls = seenProtocols.length;
    const url = new URL(h.url);
    const req = http.get({ host: url.hostname, port: url.port, path: "/v1/items/slow" });
    req.on("error", () => {});
    while (seenProtocols.length === calls) await new Promise((r) => setTimeout(r, 5));
    req.destroy();
    while (cancelled.length === before) await new Promise((r) => setTimeout(r, 5));
  });
});

describe("an unreachable upstream", () => {
  it("is a 503 whose message keeps addresses and errno to the log", async () => {
    const nobody = createUpstream(`http://127.0.0.1:${await getFreePort()}`);
    const transport = createUpstreamTransport(nobody, "grpc");
    const h = await startRestHarness([DataService], { transportFor: () => transport });
    try {
      const res = await send(h.url, { path: "/v1/items/a1", headers: { "x-request-id": "r-503" } });
      expect({ status: res.status, json: res.json() }).toEqual({
        status: 503,
        json: {
          code: 14,
          message: "no upstream instance is reachable; retry later",
          details: [{ "@type": "type.googleapis.com/google.rpc.RequestInfo", requestId: "r-503" }],
        },
      });
    } finally {
      nobody.close();
      await h.close();
    }
  });
});

describe.each(protocols)("an upstream over %s that answers CANCELLED itself", (protocol) => {
  it("stays 499 Canceled with its metadata: only a cut connection becomes Unavailable", async () => {
    const res = await send(harnesses.get(protocol)!.url, { path: "/v1/items/gave-up" });
    expect({ status: res.status, code: (res.json() as { code: number }).code }).toEqual({ status: 499, code: Code.Canceled });
  });
});

describe.each(protocols)("an upstream over %s whose connection dies mid-call (a SIGKILLed process)", (protocol) => {
  it("is a 503 Unavailable, not a 499: the caller did not cancel", async () => {
    const h2 = (await import("node:http2")).createServer();
    h2.on("stream", (stream) => stream.session?.socket.destroy());
    const port = await new Promise<number>((resolve) => h2.listen(0, "127.0.0.1", () => resolve((h2.address() as { port: number }).port)));
    const dying = createUpstream(`http://127.0.0.1:${port}`);
    const h = await startRestHarness([DataService], { transportFor: () => createUpstreamTransport(dying, protocol) });
    try {
      const res = await send(h.url, { path: "/v1/items/a1" });
      expect({ status: res.status, code: (res.json() as { code: number }).code }).toEqual({ status: 503, code: Code.Unavailable });
    } finally {
      dying.close();
      await h.close();
      await new Promise((resolve) => h2.close(resolve));
    }
  });
});
