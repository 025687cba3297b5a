import { SignJWT } from "jose";

export interface RoleTokenOptions {
  /** The HS256 secret the gateway checks tokens with (JWT_SECRET). */
  secret: string;
  issuer: string;
  audience: string;
  subject: string;
  /** The `roles` claim, such as ["admin"]. */
  roles: readonly string[];
  /** How long it is valid, in jose's form: "1h", "7d". */
  expiresIn: string;
}

/** A bearer token the gateway accepts, for a local mesh (`npm start`) and its tests: HS256 with a roles claim. */
export function signRoleToken(options: RoleTokenOptions): Promise<string> {
  return new SignJWT({ roles: [...options.roles] })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(options.subject)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn)
    .sign(new TextEncoder().encode(options.secret));
}
