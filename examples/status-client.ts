// A generated-client example: asks the gateway and each backend for their health and status.
//   node examples/status-client.ts [gateway URL] [backend URL ...]
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatusSchema } from "../gen/grpc/health/v1/health_pb.ts";
import { OverallStatusSchema, StatusService } from "../gen/mesh/health/v1/status_pb.ts";

const [gatewayUrl = "http://127.0.0.1:8080", ...backendUrls] = process.argv.slice(2);
const targets = [gatewayUrl, ...(backendUrls.length > 0 ? backendUrls : ["http://127.0.0.1:4001", "http://127.0.0.1:4002"])];

for (const baseUrl of targets) {
  // gRPC over HTTP/2 for health, Connect over HTTP/1.1 for status: one port speaks both.
  const health = createClient(Health, createGrpcTransport({ baseUrl }));
  const status = createClient(StatusService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
  try {
    const check = await health.check({ service: "" }, { timeoutMs: 2000 });
    const s = await status.getStatus({}, { timeoutMs: 2000 });
    console.log(
      `${baseUrl}  ${s.instanceId.padEnd(12)} health=${HealthCheckResponse_ServingStatusSchema.value[check.status]?.name} ` +
        `status=${OverallStatusSchema.value[s.status]?.localName} uptime=${s.uptime?.seconds ?? 0n}s requests/min=${s.traffic?.requestsPerMinute ?? 0}`,
    );
  } catch (err) {
    console.log(`${baseUrl}  unreachable: ${err instanceof Error ? err.message : String(err)}`);
  }
}
