/** What the page reads from a token it cannot verify (the gateway verifies every call). */
export interface TokenClaims {
  subject?: string;
  roles: string[];
  /** Expiry in epoch milliseconds. */
  expiresAt?: number;
}

function base64UrlDecode(part: string): string {
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  const binary = atob(base64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/**
 * Decodes a JWT's payload without verifying it, to show who signed in and whether to offer admin actions.
 * Roles come from `rolesClaim`: an array of strings or a space-separated string. Throws an Error that says
 * what is wrong when the text is not a JWT.
 */
export function readTokenClaims(token: string, rolesClaim = "roles"): TokenClaims {
  const parts = token.trim().split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)) || parts[1] === "") {
    throw new Error("this is not a JWT: expected three base64url parts separated by dots");
  }
  let payload: unknown;
  try {
    payload = JSON.parse(base64UrlDecode(parts[1]!));
  } catch {
    throw new Error("this is not a JWT: its payload is not base64url-encoded JSON");
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw new Error("this is not a JWT: its payload is not a JSON object");
  }
  const claims = payload as Record<string, unknown>;
  const raw = claims[rolesClaim];
  const roles = Array.isArray(raw) ? raw.filter((r): r is string => typeof r === "string") : typeof raw === "string" ? raw.split(" ").filter((r) => r !== "") : [];
  return {
    ...(typeof claims.sub === "string" ? { subject: claims.sub } : {}),
    roles,
    ...(typeof claims.exp === "number" ? { expiresAt: claims.exp * 1000 } : {}),
  };
}

/** Whether the page offers chaos, scaling, policy and load-test actions: admin, or auth off. */
export function canActWith(authRequired: boolean, claims: TokenClaims | undefined): boolean {
  if (!authRequired) return true;
  return claims?.roles.includes("admin") ?? false;
}
