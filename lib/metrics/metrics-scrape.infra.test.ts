// Every service's /metrics, scraped as Prometheus would: the expected series exist, and they move with traffic.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { infraUrls } from "../../test/infra-context.ts";
import { databaseUrlInSchema, startService, stopAllServices, type SpawnedService } from "../../test/spawn-service.ts";
import { testKeyPrefix } from "../../test/test-redis.ts";
import { createTestSchema, type TestSchema } from "../../test/test-schema.ts";

let backend: SpawnedService;
let gateway: SpawnedService;
let control: SpawnedService;
let db: TestSchema;

beforeAll(async () => {
  db = await createTestSchema("metrics-scrape");
  const prefix = testKeyPrefix("metrics-scrape");
  const { databaseUrl, redisUrl } = infraUrls();
  control = await startService({ name: "control", env: { INSTANCE_ID: "control-metrics", DATABASE_URL: databaseUrl } });
  backend = await startService({
    name: "backend",
    env: {
      INSTANCE_ID: "backend-metrics",
      DATABASE_URL: databaseUrlInSchema(db.databaseUrl, db.schema),
      REDIS_URL: redisUrl,
      QUEUE_KEY_PREFIX: `${prefix}queue:`,
      CACHE_KEY_PREFIX: `${prefix}data:`,
    },
  });
  gateway = await startService({ name: "gateway", env: { INSTANCE_ID: "gateway-metrics", UPSTREAMS: backend.url } });
});

afterAll(async () => {
  await stopAllServices();
  await db.drop();
});

/** Sum of every sample of `name` (any labels) in an OpenMetrics or Prometheus text scrape. */
function total(scrape: string, name: string): number {
  let sum = 0;
  for (const line of scrape.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(" # ")[0]!.trim().split(/\s+/).at(-1));
  }
  return sum;
}

const scrape = async (url: string) => {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
};

async function traffic(): Promise<void> {
  const created = await fetch(`${gateway.url}/v1/items`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "metered" }) });
  const { item } = (await created.json()) as { item: { id: string } };
  for (let i = 0; i < 3; i++) await fetch(`${gateway.url}/v1/items/${item.id}`);
  const enqueued = await fetch(`${gateway.url}/v1/queues/metered/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "tick" }) });
  expect(enqueued.status).toBe(200);
  await fetch(`${control.url}/mesh.health.v1.StatusService/GetStatus`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
}

describe("/metrics of every service", () => {
  it("has the seeds' series, per-RPC golden metrics and process defaults, and they move with traffic", async () => {
    await traffic();
    const before = { backend: await scrape(backend.url), gateway: await scrape(gateway.url), control: await scrape(control.url) };
    for (const name of [
      "http_requests_total",
      "http_request_duration_seconds_bucket",
      "db_query_duration_seconds_bucket",
      "cache_hits_total",
      "cache_misses_total",
      "active_connections",
      "queue_size",
      "rpc_server_requests_total",
      "rpc_server_duration_seconds_bucket",
      "process_cpu_seconds_total",
    ]) {
      expect(before.backend, name).toMatch(new RegExp(`^${name}[{ ]`, "m"));
    }
    for (const name of ["gateway_requests_total", "gateway_upstream_attempts_total", "gateway_balancer_picks_total", "rpc_server_requests_total", "process_resident_memory_bytes"]) {
      expect(before.gateway, name).toMatch(new RegExp(`^${name}[{ ]`, "m"));
    }
    expect(before.control).toMatch(/^rpc_server_requests_total\{/m);

    await traffic();
    const after = { backend: await scrape(backend.url), gateway: await scrape(gateway.url), control: await scrape(control.url) };
    expect(total(after.backend, "rpc_server_requests_total")).toBeGreaterThan(total(before.backend, "rpc_server_requests_total"));
    expect(total(after.backend, "cache_hits_total")).toBeGreaterThan(total(before.backend, "cache_hits_total"));
    expect(total(after.backend, "db_query_duration_seconds_count")).toBeGreaterThan(total(before.backend, "db_query_duration_seconds_count"));
    expect(total(after.gateway, "gateway_requests_total")).toBeGreaterThan(total(before.gateway, "gateway_requests_total"));
    expect(total(after.gateway, "gateway_upstream_attempts_total")).toBeGreaterThan(total(before.gateway, "gateway_upstream_attempts_total"));
    expect(total(after.control, "rpc_server_requests_total")).toBeGreaterThan(total(before.control, "rpc_server_requests_total"));
  });
});
