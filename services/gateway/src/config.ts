import { hostname } from "node:os";
import { z } from "zod";
import { env, loadConfig, processConfigShape } from "../../../lib/config/load-config.ts";

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

const gatewayConfigSchema = z.object({
  ...processConfigShape,
  PORT: env.port(8080),
  /** Static backend instances (until discovery through the control plane). */
  UPSTREAMS: urlList,
  /** The control plane; its mesh.control.v1 services are reachable through the gateway. */
  CONTROL_URL: env.url(["http", "https"]).optional(),
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
  /** Largest REST request body; larger ones get 413. */
  TRANSCODE_MAX_BODY_BYTES: env.int(4 * mib, 1, 1024 * mib),
  /** Deadline of unary REST calls that send no grpc-timeout, connect-timeout-ms or X-Server-Timeout; 0 for none. */
  TRANSCODE_DEFAULT_TIMEOUT_MS: env.int(30_000, 0, 86_400_000),
  /** Cap on any deadline a REST client asks for (and on unary calls without one); 0 for no cap. */
  TRANSCODE_MAX_TIMEOUT_MS: env.int(300_000, 0, 86_400_000),
  /** Write fields that hold their default value (`0`, `""`, `false`, `[]`) in REST responses. */
  TRANSCODE_EMIT_DEFAULTS: env.bool(false),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema> & { INSTANCE_ID: string };

/** The gateway's settings from the environment; throws ConfigError naming every bad variable. */
export function readGatewayConfig(source: Readonly<Record<string, string | undefined>> = process.env): GatewayConfig {
  const config = loadConfig(gatewayConfigSchema, source);
  return { ...config, INSTANCE_ID: config.INSTANCE_ID ?? `gateway-${hostname()}-${process.pid}` };
}
