// Container health check: exits 0 when this process's grpc.health.v1 answers SERVING on 127.0.0.1:$PORT.
//   HEALTHCHECK CMD ["node", "scripts/healthcheck.ts"]
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";

const port = Number(process.argv[2] ?? process.env.PORT ?? "0");
if (!Number.isInteger(port) || port <= 0) {
  console.error("healthcheck: set PORT or pass the port as an argument");
  process.exit(2);
}
try {
  const health = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
  const { status } = await health.check({ service: "" }, { timeoutMs: 2000 });
  process.exit(status === HealthCheckResponse_ServingStatus.SERVING ? 0 : 1);
} catch (err) {
  console.error(`healthcheck: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
