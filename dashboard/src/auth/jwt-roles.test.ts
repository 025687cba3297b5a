import { describe, expect, it } from "vitest";
import { canActWith, readTokenClaims } from "./jwt-roles.ts";

const b64 = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
const jwt = (payload: unknown) => `${b64({ alg: "HS256" })}.${b64(payload)}.c2ln`;

describe("readTokenClaims", () => {
  it("reads subject, roles (array or space-separated) and expiry", () => {
    expect(readTokenClaims(jwt({ sub: "ann", roles: ["admin", 3, "user"], exp: 100 }))).toEqual({ subject: "ann", roles: ["admin", "user"], expiresAt: 100_000 });
    expect(readTokenClaims(jwt({ roles: "user admin" })).roles).toEqual(["user", "admin"]);
    expect(readTokenClaims(jwt({ scope: "x" })).roles).toEqual([]);
    expect(readTokenClaims(jwt({ groups: ["admin"] }), "groups").roles).toEqual(["admin"]);
  });

  it("decodes UTF-8 payloads", () => {
    const payload = btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify({ sub: "zoë" })))).replace(/=+$/, "");
    expect(readTokenClaims(`e30.${payload}.x`).subject).toBe("zoë");
  });

  it.each([
    ["not a token", "three base64url parts"],
    ["a.b", "three base64url parts"],
    ["a..c", "three base64url parts"],
    ["e30.bm90IGpzb24.x", "not base64url-encoded JSON"],
    [`e30.${b64([1])}.x`, "not a JSON object"],
  ])("refuses %j: %s", (token, message) => {
    expect(() => readTokenClaims(token)).toThrow(message);
  });
});

describe("canActWith", () => {
  it("admin acts, user does not; with auth off everyone does", () => {
    expect(canActWith(true, { roles: ["admin"] })).toBe(true);
    expect(canActWith(true, { roles: ["user"] })).toBe(false);
    expect(canActWith(true, undefined)).toBe(false);
    expect(canActWith(false, undefined)).toBe(true);
  });
});
