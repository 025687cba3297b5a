// The traffic path for real: two backends and a gateway reporting every 250 ms to a control plane; reads
// through the gateway appear in TrafficService.WatchTraffic per route, per instance (the balancer's split) and,
// with a failing backend, as retries and retry-budget use. Watches end cleanly when control shuts down.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BreakerService } from "../../../../gen/mesh/control/v1/breaker_pb.ts";
import { LoadBalancing } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import { TrafficService, type TrafficPoint } from "../../../../gen/mesh/control/v1/traffic_pb.ts";
import { infraUrls } from "../../../../test/infra-context.ts";
import { startService, stopAllServices, type SpawnedService } from "../../../../test/spawn-service.ts";
import { createTestRedis, type TestRedis } from "../../../../test/test-redis.ts";
import {
  clearFaults,
  closeClients,
  createTestDatabase,
  grpcClient,
  injectFault,
  setPolicy,
  sleep,
  unavailable,
} from "../../../gateway/src/test-support/mesh-fixture.ts";

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let kv: TestRedis;
let control: SpawnedService;
let gateway: SpawnedService;
const backends: SpawnedService[] = [];
let itemId = "";

async function reads(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${gateway.url}/v1/items/${itemId}`);
    await res.arrayBuffer();
  }
}

/** Reads WatchTraffic (through `url`) until a point satisfies `accept`, while `drive` keeps traffic going. */
async function watchUntil(url: string, accept: (p: TrafficPoint) => boolean, drive: () => Promise<void>): Promise<TrafficPoint> {
  const abort = new AbortController();
  let found: TrafficPoint | undefined;
  const driving = (async () => {
    while (!abort.signal.aborted) await drive();
  })();
  try {
    for await (const message of grpcClient(TrafficService, url).watchTraffic({ service: "backend" }, { signal: abort.signal, timeoutMs: 20_000 })) {
      found = message.points.find(accept);
      if (found) break;
    }
  } finally {
    abort.abort();
    await driving;
  }
  if (!found) throw new Error("no point matched");
  return found;
}

beforeAll(async () => {
  db = await createTestDatabase("traffic");
  kv = await createTestRedis("traffic");
  control = await startService({ name: "control", env: { INSTANCE_ID: "control-traffic", DATABASE_URL: db.url, HEALTH_PROBE_INTERVAL_MS: "250", LOG_LEVEL: "warn" } });
  for (const id of ["backend-1", "backend-2"]) {
    backends.push(
      await startService(
        {
          name: "backend",
          env: { INSTANCE_ID: id, DATABASE_URL: db.url, REDIS_URL: infraUrls().redisUrl, CONTROL_URL: control.url, CACHE_KEY_PREFIX: kv.prefix, DB_POOL_MAX: "4", LOG_LEVEL: "warn" },
        },
        60_000,
      ),
    );
  }
  gateway = await startService({ name: "gateway", env: { INSTANCE_ID: "gateway-traffic", CONTROL_URL: control.url, BREAKER_REPORT_INTERVAL_MS: "250" } });
  for (let i = 0; i < 150 && itemId === ""; i++) {
    const res = await fetch(`${gateway.url}/v1/items`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "traffic" }) });
    if (res.status === 200) itemId = ((await res.json()) as { item: { id: string } }).item.id;
    else await sleep(100);
  }
  expect(itemId).not.toBe("");
}, 120_000);

afterAll(async () => {
  closeClients();
  await stopAllServices();
  await kv?.deleteKeysAndQuit();
  await db?.drop();
});

describe("TrafficService.WatchTraffic in a running mesh", () => {
  it("shows reads through the gateway per route and on both backends, with the balancer's split (through the gateway too)", async () => {
    await setPolicy(control.url, { loadBalancing: LoadBalancing.ROUND_ROBIN });
    for (const url of [control.url, gateway.url]) {
      const point = await watchUntil(
        url,
        (p) => p.instances.length === 2 && p.instances.every((i) => (i.metrics?.requestsPerSecond ?? 0) > 0) && p.routes.some((r) => r.route.includes("/v1/items/")),
        () => reads(10),
      );
      const route = point.routes.find((r) => r.route.includes("/v1/items/"))!;
      expect(route.service).toBe("backend");
      expect(route.metrics?.requestsPerSecond).toBeGreaterThan(0);
      expect(route.metrics?.successRate).toBe(1);
      expect(point.instances.map((i) => i.instanceId)).toEqual(["backend-1", "backend-2"]);
      const shares = point.instances.map((i) => i.share);
      expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1);
      // Round-robin: about half each.
      for (const share of shares) expect(share).toBeGreaterThan(0.3);
      expect(point.services.map((s) => s.service)).toEqual(["backend"]);
      expect(point.gateways).toBe(1);
    }
  });

  it("shows the retries a failing backend causes, and the retry budget in use", async () => {
    await setPolicy(control.url, { loadBalancing: LoadBalancing.ROUND_ROBIN, breaker: { consecutiveFailures: 1000 } });
    await injectFault(backends[0]!.url, unavailable(1), ["mesh.data.v1.DataService/GetItem"]);
    try {
      const point = await watchUntil(control.url, (p) => (p.services[0]?.retriesPerSecond ?? 0) > 0 && (p.routes.find((r) => r.route.includes("/v1/items/"))?.retriesPerSecond ?? 0) > 0, () => reads(10));
      const backend = point.services[0]!;
      expect(backend.budgetRatio).toBeCloseTo(0.2);
      expect(backend.budgetUse).toBeGreaterThan(0);
      expect(backend.requestsPerSecond).toBeGreaterThan(0);
    } finally {
      await clearFaults(backends[0]!.url);
      await setPolicy(control.url, { loadBalancing: LoadBalancing.ROUND_ROBIN });
    }
  });
});

describe("when control shuts down", () => {
  it("ends WatchTraffic and WatchBreakers cleanly", async () => {
    const ends = [
      (async () => {
        for await (const _ of grpcClient(TrafficService, control.url).watchTraffic({})) void _;
        return "traffic ended";
      })(),
      (async () => {
        for await (const _ of grpcClient(BreakerService, control.url).watchBreakers({})) void _;
        return "breakers ended";
      })(),
    ];
    await sleep(500);
    for (const b of backends) await b.stop();
    await control.stop();
    await expect(Promise.all(ends)).resolves.toEqual(["traffic ended", "breakers ended"]);
  });
});
