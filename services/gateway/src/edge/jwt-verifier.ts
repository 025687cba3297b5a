import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { Principal } from "./access-rule.ts";

export interface JwtVerifierOptions {
  /** HS256 secret. */
  secret?: string | undefined;
  /** JWKS of an issuer signing with asymmetric keys. */
  jwksUrl?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  /** @default "roles" */
  rolesClaim?: string;
  /** @default 5 */
  clockToleranceS?: number;
}

/** Why a token was refused: for logs and metrics only, never for the caller. */
export class TokenRejected extends Error {
  override readonly name = "TokenRejected";
  readonly reason: string;
  constructor(reason: string, cause?: unknown) {
    super(`token rejected: ${reason}`, { cause });
    this.reason = reason;
  }
}

export interface JwtVerifier {
  /** The caller of a compact JWS token; throws TokenRejected. */
  verify(token: string): Promise<Principal>;
}

const asymmetric = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

function rolesOf(payload: JWTPayload, claim: string): Set<string> {
  const value = payload[claim];
  if (Array.isArray(value)) return new Set(value.filter((r): r is string => typeof r === "string"));
  if (typeof value === "string") return new Set(value.split(" ").filter((r) => r !== ""));
  return new Set();
}

/**
 * Verifies callers' JWTs with jose: HS256 against the secret, or the asymmetric algorithms against the JWKS
 * (fetched, cached and refreshed by jose), by the token's `alg`. Signature, `exp` (required), `nbf`, and
 * when configured `iss` and `aud` are checked. Unsigned tokens (`alg: none`) and any algorithm not allowed
 * for the configured key are refused, so a token cannot pick its own verification.
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const secret = options.secret === undefined ? undefined : new TextEncoder().encode(options.secret);
  const jwks: JWTVerifyGetKey | undefined =
    options.jwksUrl === undefined ? undefined : createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 3000, cooldownDuration: 30_000 });
  const rolesClaim = options.rolesClaim ?? "roles";
  const common = {
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: options.clockToleranceS ?? 5,
    requiredClaims: ["exp"],
  };
  return {
    async verify(token) {
      let alg: string | undefined;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch (err) {
        throw new TokenRejected("malformed", err);
      }
      try {
        let payload: JWTPayload;
        if (alg === "HS256" && secret !== undefined) {
          ({ payload } = await jwtVerify(token, secret, { ...common, algorithms: ["HS256"] }));
        } else if (alg !== undefined && asymmetric.includes(alg) && jwks !== undefined) {
          ({ payload } = await jwtVerify(token, jwks, { ...common, algorithms: asymmetric }));
        } else {
          throw new TokenRejected(`algorithm ${JSON.stringify(alg)} not accepted`);
        }
        if (typeof payload.sub !== "string" || payload.sub === "") throw new TokenRejected("no subject");
        return { subject: payload.sub, roles: rolesOf(payload, rolesClaim) };
      } catch (err) {
        if (err instanceof TokenRejected) throw err;
        throw new TokenRejected((err as { code?: string }).code ?? "invalid", err);
      }
    },
  };
}
