import { hostname } from "node:os";
import { z } from "zod";
import { ConfigError, env, loadConfig, processConfigShape } from "../../../lib/config/load-config.ts";

const urlList = z
  .string({ error: "is required: expected comma-separated URLs such as http://127.0.0.1:4001,http://127.0.0.1:4002" })
  .transform((value, ctx) => {
    const urls = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
    for (const url of urls) {
      let ok = false;
      try {
        ok = ["http:", "https:"].includes(new URL(url).protocol);
      } catch {}
      if (!ok) {
        ctx.addIssue({ code: "custom", message: `expected comma-separated http:// URLs; ${JSON.stringify(url)} is not one` });
        return z.NEVER;
      }
    }
    if (urls.length === 0) {
      ctx.addIssue({ code: "custom", message: "expected at least one URL" });
      return z.NEVER;
    }
    return urls;
  });

const pathList = z.string().transform((value) => value.split(",").map((s) => s.trim()).filter((s) => s !== ""));

const mib = 1024 * 1024;

const stringList = z.string().transform((value) => value.split(",").map((s) => s.trim()).filter((s) => s !== ""));

const gatewayConfigSchema = z.object({
  ...processConfigShape,
  PORT: env.port(8080),
  /**
   * Static backend instances: used until the control plane's registry has answered, and for services the
   * registry knows no instance of. Required without CONTROL_URL.
   */
  UPSTREAMS: urlList.optional(),
  /**
   * The control plane: its mesh.control.v1 services are reachable through the gateway, instances and
   * policies come from its registry watch, and breaker states are reported to it.
   */
  CONTROL_URL: env.url(["http", "https"]).optional(),
  /** How often breaker states and per-instance metrics are reported to the control plane. */
  BREAKER_REPORT_INTERVAL_MS: env.int(2000, 100, 600_000),
  /** Calls in flight to one instance beyond which new ones are refused (the per-instance bulkhead). */
  UPSTREAM_MAX_IN_FLIGHT: env.int(1000, 1, 1_000_000),
  /** Largest request body of any call, REST or RPC (the seeds' 10 MB); larger ones are refused unread. */
  MAX_BODY_BYTES: env.int(10 * mib, 1, 1024 * mib),
  /** Largest total size of a request's header names and values; larger ones get 431. */
  MAX_HEADER_BYTES: env.int(16 * 1024, 1024, 1024 * 1024),
  /** Origins browsers may call from (CORS), comma-separated, such as https://app.example.com; `*` allows any. */
  CORS_ALLOWED_ORIGINS: stringList.optional(),
  /** HS256 secret of the JWTs callers present (at least 32 bytes). With it or JWT_JWKS_URL, auth is on. */
  JWT_SECRET: z.string().min(32, { error: "expected at least 32 characters" }).optional(),
  /** JWKS of the issuer whose JWTs (RS256, ES256, EdDSA…) callers present. */
  JWT_JWKS_URL: env.url(["http", "https"]).optional(),
  /** Required `iss` of tokens. */
  JWT_ISSUER: z.string().min(1).optional(),
  /** Required `aud` of tokens. */
  JWT_AUDIENCE: z.string().min(1).optional(),
  /** The claim holding the caller's roles: an array of strings or a space-separated string. */
  JWT_ROLES_CLAIM: z.string().min(1).default("roles"),
  /** Leeway for `exp` and `nbf`, in seconds. */
  JWT_CLOCK_TOLERANCE_S: env.int(5, 0, 300),
  /** Valkey/Redis holding the distributed rate-limit buckets; without it each gateway limits on its own. */
  REDIS_URL: env.url(["redis", "rediss"]).optional(),
  /** Requests per second each caller (token subject, API key or client IP) may make; 0 turns limiting off. */
  RATE_LIMIT_PER_SECOND: env.int(0, 0, 1_000_000),
  /** Requests a caller may make at once before the rate applies. Default: one second's worth. */
  RATE_LIMIT_BURST: env.int(0, 0, 10_000_000),
  /** API keys (the X-Api-Key header) that get a rate-limit bucket of their own instead of their IP's. */
  RATE_LIMIT_API_KEYS: stringList.optional(),
  /** Prefix of the rate-limit keys in Valkey. */
  RATE_LIMIT_KEY_PREFIX: z.string().min(1).max(100).default("mesh:ratelimit:"),
  /** Take the client IP from the last X-Forwarded-For entry (behind a trusted proxy) instead of the socket. */
  TRUST_FORWARDED_FOR: env.bool(false),
  /**
   * FileDescriptorSets (`buf build -o set.binpb`, imports included), comma-separated. Their services that the
   * gateway was not compiled with are routed too (REST, Connect, gRPC, gRPC-Web, reflection), and their
   * comments become the descriptions of /openapi.json.
   */
  DESCRIPTOR_SETS: pathList.optional(),
  /** Upstreams of the services found only in DESCRIPTOR_SETS. Default: UPSTREAMS. */
  DESCRIPTOR_SET_UPSTREAMS: urlList.optional(),
  /** The protocol REST calls use upstream, over the same HTTP/2 connection as the pass-through. */
  TRANSCODE_UPSTREAM_PROTOCOL: env.oneOf(["grpc", "connect"], "grpc"),
  /** A query parameter that names no field: 400 (`reject`) or skipped (`ignore`). */
  TRANSCODE_UNKNOWN_QUERY_PARAMS: env.oneOf(["reject", "ignore"], "reject"),
  /** A JSON body field that the message does not have: 400 (`reject`) or skipped (`ignore`). */
  TRANSCODE_UNKNOWN_JSON_FIELDS: env.oneOf(["reject", "ignore"], "reject"),
  /** Largest REST request body; larger ones get 413 (MAX_BODY_BYTES applies too). */
  TRANSCODE_MAX_BODY_BYTES: env.int(4 * mib, 1, 1024 * mib),
  /** Deadline of unary REST calls that send no grpc-timeout, connect-timeout-ms or X-Server-Timeout; 0 for none. */
  TRANSCODE_DEFAULT_TIMEOUT_MS: env.int(30_000, 0, 86_400_000),
  /** Cap on any deadline a REST client asks for (and on unary calls without one); 0 for no cap. */
  TRANSCODE_MAX_TIMEOUT_MS: env.int(300_000, 0, 86_400_000),
  /** Write fields that hold their default value (`0`, `""`, `false`, `[]`) in REST responses. */
  TRANSCODE_EMIT_DEFAULTS: env.bool(false),
  /** Jaeger's UI, such as http://localhost:16686: the dashboard links requests and latency spikes to their traces there. */
  JAEGER_UI_URL: env.url(["http", "https"]).optional(),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema> & { INSTANCE_ID: string };

/** The gateway's settings from the environment; throws ConfigError naming every bad variable. */
export function readGatewayConfig(source: Readonly<Record<string, string | undefined>> = process.env): GatewayConfig {
  const config = loadConfig(gatewayConfigSchema, source);
  if (config.UPSTREAMS === undefined && config.CONTROL_URL === undefined) {
    throw new ConfigError([
      "UPSTREAMS: is required without CONTROL_URL: expected comma-separated URLs such as http://127.0.0.1:4001,http://127.0.0.1:4002",
    ]);
  }
  return { ...config, INSTANCE_ID: config.INSTANCE_ID ?? `gateway-${hostname()}-${process.pid}` };
}
