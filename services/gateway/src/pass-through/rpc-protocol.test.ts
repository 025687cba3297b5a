import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { protocolOf, responseCode } from "./rpc-protocol.ts";

function grpcWebBody(trailer: string): Buffer {
  const message = Buffer.from([0, 0, 0, 0, 1, 42]);
  const text = Buffer.from(trailer);
  const head = Buffer.alloc(5);
  head.writeUInt8(0x80, 0);
  head.writeUInt32BE(text.length, 1);
  return Buffer.concat([message, head, text]);
}

describe("protocolOf", () => {
  it.each([
    ["application/grpc", "grpc"],
    ["application/grpc+proto", "grpc"],
    ["application/grpc-web+proto", "grpc-web"],
    ["application/grpc-web-text", "grpc-web"],
    ["application/json", "connect"],
    ["application/connect+proto", "connect"],
    [undefined, "connect"],
  ] as const)("%s → %s", (type, protocol) => {
    expect(protocolOf(type)).toBe(protocol);
  });
});

describe("responseCode", () => {
  const empty = Buffer.alloc(0);
  it.each([
    ["gRPC OK in trailers", "grpc", 200, {}, { "grpc-status": "0" }, empty, undefined],
    ["gRPC Unavailable in trailers", "grpc", 200, {}, { "grpc-status": "14" }, empty, Code.Unavailable],
    ["gRPC trailers-only NotFound", "grpc", 200, { "grpc-status": "5" }, undefined, empty, Code.NotFound],
    ["gRPC HTTP 503", "grpc", 503, {}, undefined, empty, Code.Unavailable],
    ["gRPC without any status", "grpc", 200, {}, undefined, empty, Code.Internal],
    ["gRPC stream without status (not kept)", "grpc", 200, {}, undefined, undefined, undefined],
    ["gRPC a status out of range", "grpc", 200, {}, { "grpc-status": "99" }, empty, Code.Unknown],
    ["gRPC-Web status in the trailer frame", "grpc-web", 200, {}, undefined, grpcWebBody("grpc-status: 14\r\ngrpc-message: down\r\n"), Code.Unavailable],
    ["gRPC-Web OK in the trailer frame", "grpc-web", 200, {}, undefined, grpcWebBody("grpc-status:0\r\n"), undefined],
    ["gRPC-Web trailers-only", "grpc-web", 200, { "grpc-status": "8" }, undefined, empty, Code.ResourceExhausted],
    ["Connect OK", "connect", 200, {}, undefined, Buffer.from("{}"), undefined],
    ["Connect error body", "connect", 503, {}, undefined, Buffer.from('{"code":"unavailable","message":"x"}'), Code.Unavailable],
    ["Connect error body wins over the status", "connect", 500, {}, undefined, Buffer.from('{"code":"deadline_exceeded"}'), Code.DeadlineExceeded],
    ["Connect unreadable error", "connect", 429, {}, undefined, Buffer.from("<html>"), Code.Unavailable],
    ["Connect unknown status", "connect", 418, {}, undefined, empty, Code.Unknown],
  ] as const)("%s", (_label, protocol, status, headers, trailers, body, expected) => {
    expect(responseCode(protocol, status, headers, trailers, body)).toBe(expected);
  });
});
