import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { compressionGzip, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataService, GetItemRequestSchema } from "../../gen/mesh/data/v1/data_pb.ts";
import { createGrpcUnaryFastPath } from "./grpc-unary-fast-path.ts";
import { createUnaryFastPathFixture } from "./test-support/unary-fast-path-fixture.ts";

// The fast path alone on an HTTP/2 server: whatever it declines gets a 404, so every passing call went through it.
const { methods, interceptor, seen, signals } = createUnaryFastPathFixture();
const fastPath = createGrpcUnaryFastPath({ methods, interceptors: [interceptor], readMaxBytes: 1024 });
let declined = 0;
const server = http2.createServer();
server.on("stream", (stream, headers) => {
  if (fastPath(stream, headers)) return;
  declined++;
  stream.respond({ ":status": 404 }, { endStream: true });
});
let baseUrl = "";
let sessions: Http2SessionManager;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sessions = new Http2SessionManager(baseUrl);
});
afterAll(async () => {
  sessions.abort();
  await new Promise((resolve) => server.close(resolve));
});

describe("the gRPC unary fast path", () => {
  it("runs the interceptors and the handler, and sends their headers and trailers", async () => {
    const client = createClient(DataService, createGrpcTransport({ baseUrl, sessionManager: sessions }));
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const res = await client.getItem(
      { id: "a1" },
      { headers: { "x-caller": "test" }, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) },
    );
    expect(res.item?.name).toBe("item a1");
    expect(res.cached).toBe(true);
    expect(seen).toContain("GetItem test");
    expect(header?.get("x-handler")).toBe("grpc");
    expect(header?.get("x-intercepted")).toBe("1");
    expect(trailer?.get("x-trailer")).toBe("t");
  });

  it("answers a handler's error with its code, message and metadata", async () => {
    const client = createClient(DataService, createGrpcTransport({ baseUrl, sessionManager: sessions }));
    const err = await client.getItem({ id: "missing" }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    expect((err as ConnectError).rawMessage).toBe("item missing was not found");
    expect((err as ConnectError).metadata.get("x-detail")).toBe("yes");
  });

  it("answers errors trailers-only, so that grpc-js clients (like grpc-go and grpcurl) read the status too", async () => {
    const client = new grpc.Client(baseUrl.replace("http://", ""), grpc.credentials.createInsecure());
    try {
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest(
          `/${DataService.typeName}/GetItem`,
          (message: Uint8Array) => Buffer.from(message),
          (bytes: Buffer) => bytes,
          toBinary(GetItemRequestSchema, create(GetItemRequestSchema, { id: "missing" })),
          (error) => resolve(error),
        ),
      );
      expect({ code: err?.code, details: err?.details }).toEqual({ code: grpc.status.NOT_FOUND, details: "item missing was not found" });
      expect(err?.metadata.get("x-detail")).toEqual(["yes"]);
    } finally {
      client.close();
    }
  });

  it("ends the handler's signal with the call, as connect-es does, also without a deadline", async () => {
    const client = createClient(DataService, createGrpcTransport({ baseUrl, sessionManager: sessions }));
    await client.getItem({ id: "ended" });
    expect(signals.at(-1)?.aborted).toBe(true);
  });

  it("aborts the handler's signal at the caller's deadline", async () => {
    const client = createClient(DataService, createGrpcTransport({ baseUrl, sessionManager: sessions }));
    const err = await client.getItem({ id: "hang" }, { timeoutMs: 100 }).catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.DeadlineExceeded);
  });

  it("answers a body that is not protobuf with INVALID_ARGUMENT, and an oversized one with RESOURCE_EXHAUSTED", async () => {
    const call = (body: Buffer) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const session = http2.connect(baseUrl);
        const stream = session.request({ ":method": "POST", ":path": `/${DataService.typeName}/GetItem`, "content-type": "application/grpc" });
        stream.on("response", (headers) => {
          stream.resume();
          stream.on("end", () => session.close());
          resolve(headers);
        });
        stream.on("error", reject);
        stream.end(body);
      });
    const garbage = Buffer.from([0, 0, 0, 0, 3, 0xff, 0xff, 0xff]);
    expect((await call(garbage))["grpc-status"]).toBe(String(Code.InvalidArgument));
    const big = Buffer.alloc(5 + 2000, 0);
    big.writeUInt32BE(2000, 1);
    expect((await call(big))["grpc-status"]).toBe(String(Code.ResourceExhausted));
  });

  it("leaves compressed requests to connect-es", async () => {
    const before = declined;
    const client = createClient(
      DataService,
      createGrpcTransport({ baseUrl, sessionManager: sessions, sendCompression: compressionGzip, compressMinBytes: 1 }),
    );
    await expect(client.getItem({ id: "a2" })).rejects.toThrow();
    expect(declined).toBe(before + 1);
  });
});
