import http from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataService } from "../../gen/mesh/data/v1/data_pb.ts";
import { createConnectUnaryFastPath } from "./connect-unary-fast-path.ts";
import { createUnaryFastPathFixture } from "./test-support/unary-fast-path-fixture.ts";

// The fast path alone on an HTTP/1.1 server: whatever it declines gets a 404, so every passing call went through it.
const { methods, interceptor, seen, signals } = createUnaryFastPathFixture();
const writeErrors: unknown[] = [];
const fastPath = createConnectUnaryFastPath({ methods, interceptors: [interceptor], readMaxBytes: 1024, onError: (err) => writeErrors.push(err) });
let declined = 0;
const server = http.createServer((req, res) => {
  if (fastPath(req, res)) return;
  declined++;
  res.writeHead(404).end();
});
let baseUrl = "";

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const post = async (body: string | Uint8Array, contentType: string) => {
  const res = await fetch(`${baseUrl}/${DataService.typeName}/GetItem`, { method: "POST", headers: { "content-type": contentType }, body });
  return { status: res.status, body: (await res.json()) as { code?: string; message?: string } };
};

describe.each([
  ["JSON", false],
  ["binary", true],
])("the Connect unary fast path (%s)", (_name, useBinaryFormat) => {
  const client = () => createClient(DataService, createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat }));

  it("ends the handler's signal with the call, as connect-es does, also without a deadline", async () => {
    await client().getItem({ id: "ended" });
    expect(signals.at(-1)?.aborted).toBe(true);
  });

  it("runs the interceptors and the handler, and sends their headers and trailers", async () => {
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const res = await client().getItem({ id: "a1" }, { headers: { "x-caller": "test" }, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) });
    expect(res.item?.name).toBe("item a1");
    expect(seen).toContain("GetItem test");
    expect(header?.get("x-handler")).toBe("connect");
    expect(header?.get("x-intercepted")).toBe("1");
    expect(trailer?.get("x-trailer")).toBe("t");
  });

  it("answers a handler's error with its code, message and metadata", async () => {
    const err = ConnectError.from(await client().getItem({ id: "missing" }).catch((e: unknown) => e));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe("item missing was not found");
    expect(err.metadata.get("x-detail")).toBe("yes");
  });

  it("aborts the handler's signal at the caller's deadline", async () => {
    const err = ConnectError.from(await client().getItem({ id: "hang" }, { timeoutMs: 100 }).catch((e: unknown) => e));
    expect(err.code).toBe(Code.DeadlineExceeded);
  });
});

describe("the Connect unary fast path's bad input", () => {
  it("answers a body that is not protobuf or not JSON with invalid_argument (400), and an oversized one with resource_exhausted", async () => {
    expect(await post(new Uint8Array([0xff, 0xff, 0xff]), "application/proto")).toMatchObject({ status: 400, body: { code: "invalid_argument" } });
    expect(await post("{not json", "application/json")).toMatchObject({ status: 400, body: { code: "invalid_argument" } });
    expect(await post(JSON.stringify({ id: "x".repeat(2000) }), "application/json")).toMatchObject({ status: 429, body: { code: "resource_exhausted" } });
  });

  it("reports a response it cannot write, fails that call alone and keeps serving", async () => {
    const client = createClient(DataService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
    await expect(client.getItem({ id: "bad-header" })).rejects.toThrow();
    expect(writeErrors).toHaveLength(1);
    expect((await client.getItem({ id: "after" })).item?.id).toBe("after");
  });

  it("leaves compressed requests to connect-es", async () => {
    const before = declined;
    const compressed = createClient(DataService, createConnectTransport({ baseUrl, httpVersion: "1.1", sendCompression: compressionGzip, compressMinBytes: 1 }));
    await expect(compressed.getItem({ id: "a2" })).rejects.toThrow();
    expect(declined).toBe(before + 1);
  });
});
