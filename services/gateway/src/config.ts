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

const gatewayConfigSchema = z.object({
  ...processConfigShape,
  PORT: env.port(8080),
  /** Static backend instances (until discovery through the control plane). */
  UPSTREAMS: urlList,
  /** The control plane; its mesh.control.v1 services are reachable through the gateway. */
  CONTROL_URL: env.url(["http", "https"]).optional(),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema> & { INSTANCE_ID: string };

/** The gateway's settings from the environment; throws ConfigError naming every bad variable. */
export function readGatewayConfig(source: Readonly<Record<string, string | undefined>> = process.env): GatewayConfig {
  const config = loadConfig(gatewayConfigSchema, source);
  return { ...config, INSTANCE_ID: config.INSTANCE_ID ?? `gateway-${hostname()}-${process.pid}` };
}
