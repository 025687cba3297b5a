import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { SignJWT, jwtVerify } from "jose";

/** The header that carries the mesh's service credential: a short-lived HS256 JWT. */
export const serviceTokenHeader = "x-mesh-service-token";
/** Headers with which the gateway tells backends who the verified caller is; never taken from clients. */
export const subjectHeader = "x-mesh-subject";
export const rolesHeader = "x-mesh-roles";

const issuer = "connect-mesh";
const audience = "connect-mesh-internal";

export interface ServiceCredential {
  /** The current token (refreshed in the background before it expires). */
  token(): string;
  stop(): void;
}

/**
 * Mints this process's service credential (`sub` = its instance id) with the mesh's shared secret, and keeps
 * a fresh one ready: callers read it synchronously on every request.
 */
export async function startServiceCredential(options: { secret: string; subject: string; ttlSeconds?: number }): Promise<ServiceCredential> {
  const key = new TextEncoder().encode(options.secret);
  const ttl = options.ttlSeconds ?? 600;
  const mint = () =>
    new SignJWT({})
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(options.subject)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`)
      .sign(key);
  let current = await mint();
  const timer = setInterval(() => {
    mint().then((token) => (current = token), () => undefined);
  }, (ttl * 1000) / 3);
  timer.unref();
  return {
    token: () => current,
    stop: () => clearInterval(timer),
  };
}

/** Client side: every outgoing call presents the credential. */
export function createServiceCredentialInterceptor(credential: ServiceCredential): Interceptor {
  return (next) => (req) => {
    req.header.set(serviceTokenHeader, credential.token());
    return next(req);
  };
}

export interface RequireServiceCredentialOptions {
  secret: string;
  /** Services callable without the credential. @default grpc.health.v1.Health, mesh.health.v1.StatusService and server reflection */
  exempt?: (serviceTypeName: string) => boolean;
  /** Verified tokens remembered, to skip the HMAC on repeat calls. @default 256 */
  cacheSize?: number;
}

/** Public by the protos' access rules: health, status and reflection answer anyone who can reach the port. */
const defaultExempt = (service: string) =>
  service === "grpc.health.v1.Health" || service === "mesh.health.v1.StatusService" || service.startsWith("grpc.reflection.");

/**
 * Server side, for backends and control: refuses calls that do not carry a valid service credential (they
 * bypassed the gateway) with UNAUTHENTICATED, except health checks, status and reflection. Place it after the error
 * interceptor, before the service's own.
 */
export function requireServiceCredential(options: RequireServiceCredentialOptions): Interceptor {
  const key = new TextEncoder().encode(options.secret);
  const exempt = options.exempt ?? defaultExempt;
  const cacheSize = options.cacheSize ?? 256;
  /** token → expiry (epoch ms) */
  const verified = new Map<string, number>();
  const refuse = () => new ConnectError("this service accepts calls through the mesh gateway only", Code.Unauthenticated);
  return (next) => async (req) => {
    if (exempt(req.service.typeName)) return next(req);
    const token = req.header.get(serviceTokenHeader);
    if (!token) throw refuse();
    const until = verified.get(token);
    if (until === undefined || until <= Date.now()) {
      verified.delete(token);
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ["HS256"], issuer, audience, requiredClaims: ["exp", "sub"] });
        verified.set(token, payload.exp! * 1000);
        if (verified.size > cacheSize) verified.delete(verified.keys().next().value!);
      } catch {
        throw refuse();
      }
    }
    return next(req);
  };
}
