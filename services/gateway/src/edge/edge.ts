import { createHash } from "node:crypto";
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { create, createRegistry, type DescMethod } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema, file_google_rpc_error_details } from "../../../../gen/google/rpc/error_details_pb.ts";
import { rolesHeader, subjectHeader } from "../../../../lib/auth/service-credential.ts";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import type { HttpRequest, HttpResponse } from "../../../../lib/server/http-exchange.ts";
import type { RateLimiter } from "../rate-limit/rate-limiter.ts";
import type { GatewayMetrics } from "../resilience/gateway-metrics.ts";
import { requestIdOf } from "../transcode/headers.ts";
import { httpError } from "../transcode/http-error.ts";
import { writeRestError } from "../transcode/rest-response.ts";
import { isRpcRequest } from "../transcode/transcoder.ts";
import { accessRuleOf, decideAccess, type Principal } from "./access-rule.ts";
import { createCorsPolicy } from "./cors.ts";
import type { JwtVerifier } from "./jwt-verifier.ts";
import { writeRpcError } from "./rpc-error.ts";
import { securityHeaders, strictTransportSecurity } from "./security-headers.ts";

export interface EdgeOptions {
  /** Absent: authentication is off and every method is callable. */
  verifier?: JwtVerifier | undefined;
  /** Absent: no rate limits. */
  limiter?: RateLimiter | undefined;
  corsOrigins: readonly string[];
  maxBodyBytes: number;
  maxHeaderBytes: number;
  /** API keys (X-Api-Key) that get a rate-limit bucket of their own. */
  apiKeys: readonly string[];
  trustForwardedFor: boolean;
  /** Services whose `/<service>/<method>` paths are RPCs (see the transcoder's isRpcService). */
  isRpcService(name: string): boolean;
  metrics: GatewayMetrics;
  logger: Logger;
}

export interface Edge {
  /**
   * The first `httpHandlers` entry: answers what it refuses, and returns false to let the request go on; a
   * promise only when it has a token to verify or a rate limit to take.
   */
  handle(req: HttpRequest, res: HttpResponse): boolean | Promise<boolean>;
  /** Throws Unauthenticated or PermissionDenied when the request's caller may not call `method`. */
  authorize(req: HttpRequest, method: DescMethod): void;
  /** The verified caller of a request, if it presented a valid token. */
  principalOf(req: HttpRequest): Principal | undefined;
}

const errorRegistry = createRegistry(file_google_rpc_error_details);
const healthPrefix = "/grpc.health.v1.Health/";
const securityHeaderEntries = Object.entries(securityHeaders) as Array<[string, string]>;

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/** Printable ASCII only, at most 200 characters: a JWT claim may hold anything, a header value may not. */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, "?").slice(0, 200);
}

function headerBytes(req: HttpRequest): number {
  let total = 0;
  for (const part of req.rawHeaders) total += part.length;
  return total;
}

/**
 * The gateway's edge, before any routing or upstream work: request ids, security headers, CORS, header and
 * body size limits, JWT authentication (authorization per method happens where the method is known: the
 * pass-through and the REST routes call `authorize`), and the per-caller rate limit with `RateLimit-*`
 * headers. Refusals are answered in the caller's protocol: google.rpc.Status JSON for REST, the RPC
 * protocol's own error otherwise. Messages name no reason a token failed.
 */
export function createEdge(options: EdgeOptions): Edge {
  const { verifier, limiter, metrics, logger } = options;
  const cors = createCorsPolicy(options.corsOrigins);
  const apiKeys = new Set(options.apiKeys);
  const principals = new WeakMap<HttpRequest, Principal>();

  function refuse(req: HttpRequest, res: HttpResponse, error: ConnectError, headers: OutgoingHttpHeaders, requestId: string): true {
    const path = (req.url ?? "/").split("?")[0]!;
    if (isRpcRequest(req, path, options.isRpcService)) {
      writeRpcError(req, res, error, headers);
    } else {
      for (const [name, value] of Object.entries(headers)) if (value !== undefined) error.metadata.set(name, String(value));
      writeRestError(req, res, error, requestId, errorRegistry);
    }
    return true;
  }

  function clientIp(req: HttpRequest): string {
    if (options.trustForwardedFor) {
      const forwarded = String(req.headers["x-forwarded-for"] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
      const last = forwarded[forwarded.length - 1];
      if (last) return last;
    }
    return req.socket?.remoteAddress ?? "unknown";
  }

  function rateKey(req: HttpRequest, principal: Principal | undefined): string {
    if (principal) return `sub:${principal.subject}`;
    const key = req.headers["x-api-key"];
    if (typeof key === "string" && apiKeys.has(key)) return `key:${sha256(key)}`;
    return `ip:${clientIp(req)}`;
  }

  /** Authentication and the rate limit, the edge's asynchronous part. */
  async function admit(req: HttpRequest, res: HttpResponse, requestId: string, authorization: string | undefined, limit: boolean): Promise<boolean> {
    const out = res as ServerResponse;
    let principal: Principal | undefined;
    if (verifier && authorization !== undefined) {
      const match = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i.exec(authorization);
      try {
        if (!match) throw new Error("malformed Authorization header");
        principal = await verifier.verify(match[1]!);
        principals.set(req, principal);
        // Upstreams learn who called from the gateway alone: clients' x-mesh-* headers were dropped before.
        req.headers[subjectHeader] = headerSafe(principal.subject);
        req.headers[rolesHeader] = headerSafe([...principal.roles].join(" "));
      } catch (err) {
        metrics.rejected("unauthenticated");
        logger.info({ reason: (err as { reason?: string }).reason ?? (err as Error).message, path: (req.url ?? "").slice(0, 200) }, "bearer token refused");
        const error = new ConnectError("the bearer token is not valid", Code.Unauthenticated);
        return refuse(req, res, error, { "www-authenticate": 'Bearer realm="connect-mesh", error="invalid_token"' }, requestId);
      }
    }

    if (limiter && limit) {
      const decision = await limiter.take(rateKey(req, principal));
      const windowS = Math.max(1, Math.ceil(limiter.burst / limiter.ratePerSecond));
      out.setHeader("ratelimit-limit", String(limiter.burst));
      out.setHeader("ratelimit-remaining", String(decision.remaining));
      out.setHeader("ratelimit-reset", String(Math.ceil(decision.resetMs / 1000)));
      out.setHeader("ratelimit-policy", `${limiter.burst};w=${windowS}`);
      if (!decision.allowed) {
        metrics.rejected("rate_limited");
        const retryAfterS = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
        const error = new ConnectError(`rate limit exceeded: retry after ${retryAfterS} s`, Code.ResourceExhausted, undefined, [
          { desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay: durationFromMs(decision.retryAfterMs) }) },
        ]);
        return refuse(req, res, error, { "retry-after": String(retryAfterS) }, requestId);
      }
    }
    return false;
  }

  return {
    handle(req, res) {
      const out = res as ServerResponse;
      const headers = req.headers;
      const requestId = requestIdOf(headers);
      headers["x-request-id"] = requestId;
      // Identity and service headers come from the gateway only.
      for (const name in headers) if (name.startsWith("x-mesh-")) delete headers[name];
      out.setHeader("x-request-id", requestId);
      for (const [name, value] of securityHeaderEntries) out.setHeader(name, value);
      if (headers["x-forwarded-proto"] === "https") out.setHeader("strict-transport-security", strictTransportSecurity);

      const origin = typeof headers.origin === "string" ? headers.origin : undefined;
      if (req.method === "OPTIONS" && origin !== undefined && headers["access-control-request-method"] !== undefined) {
        const answer = cors.preflight(headers);
        if (answer.status !== 204) metrics.rejected("cors");
        out.writeHead(answer.status, { ...answer.headers, "content-length": 0 });
        out.end();
        return true;
      }
      const corsHeaders = cors.headersFor(origin);
      if (corsHeaders) for (const [name, value] of Object.entries(corsHeaders)) out.setHeader(name, value!);

      if (headerBytes(req) > options.maxHeaderBytes) {
        metrics.rejected("too_large");
        const error = httpError(431, Code.ResourceExhausted, `the request headers are larger than ${options.maxHeaderBytes} bytes`, {}, true);
        return refuse(req, res, error, {}, requestId);
      }
      const declared = Number(headers["content-length"] ?? 0);
      if (declared > options.maxBodyBytes) {
        metrics.rejected("too_large");
        const error = httpError(413, Code.ResourceExhausted, `the request body is larger than ${options.maxBodyBytes} bytes`, {}, true);
        return refuse(req, res, error, req.httpVersionMajor === 1 ? { connection: "close" } : {}, requestId);
      }

      const authorization = verifier ? headers.authorization : undefined;
      const limit = limiter !== undefined && !(req.url ?? "").startsWith(healthPrefix);
      // Most requests have neither a token to verify nor a limit to take: they go on without a promise.
      if (authorization === undefined && !limit) return false;
      return admit(req, res, requestId, authorization, limit);
    },
    authorize(req, method) {
      if (!verifier) return;
      const principal = principals.get(req);
      const decision = decideAccess(accessRuleOf(method), principal);
      if (decision === "allow") return;
      if (decision === "unauthenticated") {
        metrics.rejected("unauthenticated");
        throw new ConnectError("authentication required", Code.Unauthenticated, { "www-authenticate": 'Bearer realm="connect-mesh"' });
      }
      metrics.rejected("permission_denied");
      logger.info({ subject: principal?.subject, method: `${method.parent.typeName}/${method.name}` }, "call refused: missing role");
      throw new ConnectError("permission denied", Code.PermissionDenied);
    },
    principalOf: (req) => principals.get(req),
  };
}
