import { describe, expect, it } from "vitest";
import { callHeaders, headerObject, requestHeadersOf } from "./call-headers.ts";

describe("call headers", () => {
  it("read Node's request headers as web Headers do, without pseudo-headers", () => {
    const headers = requestHeadersOf({ ":path": "/a.B/C", "content-type": "application/grpc", "x-list": ["a", "b"], "set-cookie": ["k=1", "j=2"] });
    expect(headers).toBeInstanceOf(Headers);
    expect(headers.get("Content-Type")).toBe("application/grpc");
    expect(headers.get(":path")).toBeNull();
    expect(headers.get("constructor")).toBeNull();
    expect(headers.get("x-list")).toBe("a, b");
    expect(headers.has("x-missing")).toBe(false);
    expect(headers.getSetCookie()).toEqual(["k=1", "j=2"]);
    expect([...headers.keys()]).toEqual(["content-type", "x-list", "set-cookie"]);
  });

  it("change as web Headers do, validating what is set", () => {
    const headers = callHeaders({ "content-type": "application/proto" });
    headers.set("X-Request-Id", " r1 ");
    headers.append("x-request-id", "r2");
    expect(headerObject(headers)).toEqual({ "content-type": "application/proto", "x-request-id": "r1, r2" });
    headers.delete("content-type");
    expect(new Headers(headers).get("x-request-id")).toBe("r1, r2");
    expect(() => headers.set("bad name", "v")).toThrow(TypeError);
    expect(() => headers.set("x-a", "line\nbreak")).toThrow(TypeError);
    // A header value is bytes: web Headers refuse code points above U+00FF, and so do these.
    expect(() => headers.set("x-a", "price €5")).toThrow(TypeError);
    expect(() => new Headers().set("x-a", "price €5")).toThrow(TypeError);
    headers.set("x-a", "café");
    // As web Headers: other control characters pass; Node refuses them when it writes the response.
    headers.set("x-b", "a\u0001b");
    expect(headers.get("x-b")).toBe("a\u0001b");
  });

  it("copy on the first change, leaving Node's object alone", () => {
    const source = { "x-a": "1" };
    const headers = requestHeadersOf(source);
    headers.set("x-b", "2");
    expect(source).toEqual({ "x-a": "1" });
    expect(headerObject(headers)).toEqual({ "x-a": "1", "x-b": "2" });
  });
});
