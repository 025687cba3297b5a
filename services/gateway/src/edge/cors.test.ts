import { describe, expect, it } from "vitest";
import { createCorsPolicy } from "./cors.ts";

describe("createCorsPolicy", () => {
  const cors = createCorsPolicy(["https://app.example.com", "http://localhost:3000/"]);

  it.each([
    ["https://app.example.com", true],
    ["HTTPS://APP.EXAMPLE.COM", true],
    ["http://localhost:3000", true],
    ["https://evil.example.com", false],
    ["null", false],
    [undefined, false],
  ])("origin %s allowed: %s", (origin, allowed) => {
    const headers = cors.headersFor(origin);
    expect(headers !== undefined).toBe(allowed);
    if (headers) expect(headers["access-control-allow-origin"]).toBe(origin);
  });

  it("answers a preflight from an allowed origin with what it may send", () => {
    const answer = cors.preflight({ origin: "https://app.example.com", "access-control-request-method": "POST", "access-control-request-headers": "Authorization, content-type, x-bad header" });
    expect(answer.status).toBe(204);
    expect(answer.headers["access-control-allow-headers"]).toBe("authorization, content-type");
    expect(answer.headers["access-control-allow-methods"]).toContain("POST");
  });

  it("refuses a preflight from another origin", () => {
    const answer = cors.preflight({ origin: "https://evil.example.com", "access-control-request-method": "POST" });
    expect(answer.status).toBe(403);
    expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("allows any origin with *", () => {
    expect(createCorsPolicy(["*"]).headersFor("https://anything.example")?.["access-control-allow-origin"]).toBe("https://anything.example");
  });
});
