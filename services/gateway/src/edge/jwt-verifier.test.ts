import { createServer, type Server } from "node:http";
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJwtVerifier, TokenRejected } from "./jwt-verifier.ts";

const secret = "a-test-secret-that-is-at-least-32-bytes-long";
const key = new TextEncoder().encode(secret);

function token(claims: Record<string, unknown> = {}, options: { exp?: string | number; iss?: string; aud?: string; sub?: string | null; key?: Uint8Array } = {}) {
  const jwt = new SignJWT({ roles: ["user"], ...claims }).setProtectedHeader({ alg: "HS256" }).setIssuedAt();
  if (options.sub !== null) jwt.setSubject(options.sub ?? "alice");
  jwt.setIssuer(options.iss ?? "mesh").setAudience(options.aud ?? "gateway");
  if (options.exp !== undefined) jwt.setExpirationTime(options.exp);
  else jwt.setExpirationTime("5m");
  return jwt.sign(options.key ?? key);
}

const verifier = createJwtVerifier({ secret, issuer: "mesh", audience: "gateway" });

async function reason(tokenText: string | Promise<string>): Promise<string> {
  try {
    await verifier.verify(await tokenText);
    return "accepted";
  } catch (err) {
    expect(err).toBeInstanceOf(TokenRejected);
    return (err as TokenRejected).reason;
  }
}

/** The payload of a token with one character of its signature changed (a forged or altered token). */
function tamper(text: string, payload?: Record<string, unknown>): string {
  const [header, body, signature] = text.split(".") as [string, string, string];
  const newBody = payload ? Buffer.from(JSON.stringify(payload)).toString("base64url") : body;
  const newSignature = payload ? signature : `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`;
  return [header, newBody, newSignature].join(".");
}

describe("createJwtVerifier with an HS256 secret", () => {
  it("accepts a valid token and reads its subject and roles", async () => {
    expect(await verifier.verify(await token({ roles: ["user", "admin"] }))).toEqual({ subject: "alice", roles: new Set(["user", "admin"]) });
  });

  it.each([
    [{ roles: "user admin" }, ["user", "admin"]],
    [{ roles: [] }, []],
    [{ roles: [1, "user", null] }, ["user"]],
    [{ roles: undefined }, []],
  ])("reads roles %j as %j", async (claims, roles) => {
    expect([...(await verifier.verify(await token(claims))).roles]).toEqual(roles);
  });

  it.each([
    ["expired", () => token({}, { exp: Math.floor(Date.now() / 1000) - 60 }), "ERR_JWT_EXPIRED"],
    ["wrongly signed", () => token({}, { key: new TextEncoder().encode("another-secret-that-is-32-bytes-or-more!!") }), "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"],
    ["altered signature", async () => tamper(await token()), "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"],
    ["escalated roles in an unsigned change", async () => tamper(await token(), { sub: "alice", roles: ["admin"], exp: 9_999_999_999, iss: "mesh", aud: "gateway" }), "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"],
    ["for another audience", () => token({}, { aud: "someone-else" }), "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    ["from another issuer", () => token({}, { iss: "evil" }), "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    ["without a subject", () => token({}, { sub: null }), "no subject"],
    ["unsigned (alg none)", () => new UnsecuredJWT({ sub: "alice", roles: ["admin"], iss: "mesh", aud: "gateway" }).setExpirationTime("5m").encode(), 'algorithm "none" not accepted'],
    ["malformed", () => "not.a.token", "malformed"],
    ["empty", () => "", "malformed"],
  ])("rejects a token that is %s", async (_label, make, expected) => {
    expect(await reason(make())).toBe(expected);
  });

  it("rejects an RS256 token when only a secret is configured (no algorithm confusion)", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const rs = await new SignJWT({ roles: ["admin"] }).setProtectedHeader({ alg: "RS256" }).setSubject("x").setExpirationTime("5m").sign(privateKey);
    expect(await reason(rs)).toBe('algorithm "RS256" not accepted');
  });
});

describe("createJwtVerifier with a JWKS URL", () => {
  let server: Server;
  let url: string;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256");
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("accepts a token signed by a key of the set, and refuses an HS256 one", async () => {
    const jwks = createJwtVerifier({ jwksUrl: url, audience: "gateway" });
    const es = await new SignJWT({ roles: ["admin"] }).setProtectedHeader({ alg: "ES256", kid: "k1" }).setSubject("ops").setAudience("gateway").setExpirationTime("5m").sign(privateKey);
    expect(await jwks.verify(es)).toEqual({ subject: "ops", roles: new Set(["admin"]) });
    await expect(jwks.verify(await token())).rejects.toBeInstanceOf(TokenRejected);
  });
});
