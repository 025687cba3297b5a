// One REST call through a real gateway to a real backend is one trace across both processes: the gateway's
// server span (named by route template), a client span per upstream attempt, the backend's server span, and its
// PostgreSQL and Valkey spans, with the parent chain intact. Spans are decoded from real OTLP/JSON exports.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { infraUrls } from "../../test/infra-context.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../../test/otlp-receiver.ts";
import { databaseUrlInSchema, startService, stopAllServices, type SpawnedService } from "../../test/spawn-service.ts";
import { testKeyPrefix } from "../../test/test-redis.ts";
import { createTestSchema, type TestSchema } from "../../test/test-schema.ts";

let receiver: OtlpReceiver;
let backend: SpawnedService;
let gateway: SpawnedService;
let db: TestSchema;

const telemetry = (receiverUrl: string) => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
  OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
  OTEL_BSP_SCHEDULE_DELAY: "50",
});

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  db = await createTestSchema("mesh-trace");
  const prefix = testKeyPrefix("mesh-trace");
  backend = await startService({
    name: "backend",
    env: {
      INSTANCE_ID: "backend-trace",
      DATABASE_URL: databaseUrlInSchema(db.databaseUrl, db.schema),
      REDIS_URL: infraUrls().redisUrl,
      QUEUE_KEY_PREFIX: `${prefix}queue:`,
      CACHE_KEY_PREFIX: `${prefix}data:`,
      ...telemetry(receiver.url),
    },
  });
  gateway = await startService({ name: "gateway", env: { INSTANCE_ID: "gateway-trace", UPSTREAMS: backend.url, ...telemetry(receiver.url) } });
});

afterAll(async () => {
  await stopAllServices();
  await receiver.close();
  await db.drop();
});

const byService = (spans: readonly ReceivedSpan[], service: string) => spans.filter((s) => s.resource["service.name"] === service);

describe("a REST call through the gateway", () => {
  it("is one trace: gateway route → upstream attempt → backend RPC → PostgreSQL and Valkey", async () => {
    const traceId = "1c0ffee0000000000000000000000001";
    const callerSpan = "00f067aa0ba902b7";
    const created = await fetch(`${gateway.url}/v1/items`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: `00-${traceId}-${callerSpan}-01`, "x-request-id": "req-through-gateway" },
      body: JSON.stringify({ name: "traced through the gateway" }),
    });
    expect(created.status).toBe(200);

    const spans = await receiver.waitFor((all) => {
      const inTrace = all.filter((s) => s.traceId === traceId);
      // Spans arrive in export batches, the server span after its children: wait for each kind checked below.
      return byService(inTrace, "backend").some((s) => s.attributes["db.system"] === "postgresql" || s.attributes["db.system.name"] === "postgresql") &&
        byService(inTrace, "backend").some((s) => s.name === "mesh.data.v1.DataService/CreateItem") &&
        byService(inTrace, "gateway").some((s) => s.kind === 2) &&
        byService(inTrace, "gateway").some((s) => s.kind === 3 && s.attributes["mesh.attempt"] === 1);
    });
    const inTrace = spans.filter((s) => s.traceId === traceId);
    const gatewayServer = byService(inTrace, "gateway").find((s) => s.kind === 2);
    expect(gatewayServer?.parentSpanId).toBe(callerSpan);
    expect(gatewayServer?.name).toBe("POST /v1/items");
    expect(gatewayServer?.attributes["mesh.request_id"]).toBe("req-through-gateway");

    const attempt = byService(inTrace, "gateway").find((s) => s.kind === 3 && s.attributes["mesh.attempt"] === 1);
    expect(attempt).toBeDefined();
    expect(attempt!.attributes).toMatchObject({ "mesh.instance.id": expect.any(String), "mesh.lb.policy": expect.any(String), "rpc.method": "CreateItem" });
    // The attempt hangs off the route span, possibly through the gateway's own intermediate spans.
    const gatewayIds = new Set(byService(inTrace, "gateway").map((s) => s.spanId));
    expect(gatewayIds.has(attempt!.parentSpanId)).toBe(true);

    const backendServer = byService(inTrace, "backend").find((s) => s.name === "mesh.data.v1.DataService/CreateItem");
    expect(backendServer?.parentSpanId).toBe(attempt!.spanId);
    const backendIds = new Set(byService(inTrace, "backend").map((s) => s.spanId));
    const databaseSpans = byService(inTrace, "backend").filter((s) => (s.attributes["db.system"] ?? s.attributes["db.system.name"]) === "postgresql");
    expect(databaseSpans.length).toBeGreaterThan(0);
    for (const s of databaseSpans) expect(backendIds.has(s.parentSpanId)).toBe(true);
  });
});
