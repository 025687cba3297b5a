// The gateway in a real mesh: a control plane, two backend processes registered with it, and a gateway that
// finds them through the registry watch. Faults come through each backend's own mesh.chaos.v1.FaultService;
// what reached each backend is read from its /metrics.
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BreakerService, BreakerState } from "../../../gen/mesh/control/v1/breaker_pb.ts";
import { LoadBalancing } from "../../../gen/mesh/control/v1/policy_pb.ts";
import { DataService } from "../../../gen/mesh/data/v1/data_pb.ts";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { createTestRedis, type TestRedis } from "../../../test/test-redis.ts";
import { infraUrls } from "../../../test/infra-context.ts";
import { startService, stopAllServices, type SpawnedService } from "../../../test/spawn-service.ts";
import {
  clearFaults,
  closeClients,
  createTestDatabase,
  eventually,
  grpcClient,
  injectFault,
  metricSum,
  setPolicy,
  sleep,
  unavailable,
} from "./test-support/mesh-fixture.ts";

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let kv: TestRedis;
let control: SpawnedService;
const backends: SpawnedService[] = [];
let gateway: SpawnedService;
let itemId = "";

const getItem = "GetItem";
const createItem = "CreateItem";

function backendEnv(id: string): Record<string, string> {
  return {
    INSTANCE_ID: id,
    DATABASE_URL: db.url,
    REDIS_URL: infraUrls().redisUrl,
    CONTROL_URL: control.url,
    CACHE_KEY_PREFIX: kv.prefix,
    DB_POOL_MAX: "4",
    LOG_LEVEL: "warn",
  };
}

/** Calls of one method each backend answered so far, by instance id. */
async function served(method: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const b of backends) {
    out[b.name === "backend" ? idOf(b) : b.name] = b.running ? await metricSum(b.url, "rpc_server_requests_total", { rpc_method: method }) : NaN;
  }
  return out;
}

const ids = new Map<SpawnedService, string>();
const idOf = (b: SpawnedService) => ids.get(b)!;

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(before).map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
}

async function read(id = itemId): Promise<number> {
  const res = await fetch(`${gateway.url}/v1/items/${id}`);
  await res.arrayBuffer();
  return res.status;
}

/** `count` reads by `callers` concurrent callers; the statuses in completion order. */
async function load(count: number, callers: number, onProgress?: (done: number) => void): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < count) {
        next++;
        statuses.push(await read());
        onProgress?.(statuses.length);
      }
    }),
  );
  return statuses;
}

const countOf = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

beforeAll(async () => {
  db = await createTestDatabase("gateway-mesh");
  kv = await createTestRedis("gateway-mesh");
  control = await startService({
    name: "control",
    env: { INSTANCE_ID: "control-gw", DATABASE_URL: db.url, HEALTH_PROBE_INTERVAL_MS: "250", UNHEALTHY_THRESHOLD: "2", LOG_LEVEL: "warn" },
  });
  for (const id of ["backend-1", "backend-2"]) {
    const b = await startService({ name: "backend", env: backendEnv(id) }, 60_000);
    ids.set(b, id);
    backends.push(b);
  }
  gateway = await startService({ name: "gateway", env: { INSTANCE_ID: "gateway-mesh", CONTROL_URL: control.url, BREAKER_REPORT_INTERVAL_MS: "250" } });
  // Routing works once the gateway has heard the registry: until then it has no instance at all.
  const created = await eventually(
    () => fetch(`${gateway.url}/v1/items`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "cached" }) }),
    (res) => res.status === 200,
  );
  itemId = ((await created.json()) as { item: { id: string } }).item.id;
  expect(itemId).toMatch(/^[0-9a-f-]{36}$/);
}, 120_000);

afterAll(async () => {
  closeClients();
  await stopAllServices();
  await kv?.deleteKeysAndQuit();
  await db?.drop();
});

describe("discovery and load balancing", () => {
  it("finds both backends through the registry and alternates reads over them (round-robin)", async () => {
    await setPolicy(control.url, { loadBalancing: LoadBalancing.ROUND_ROBIN });
    await sleep(300);
    const before = await served(getItem);
    const statuses = await load(40, 1);
    expect(countOf(statuses, 200)).toBe(40);
    const spread = diff(await served(getItem), before);
    expect(spread).toEqual({ "backend-1": 20, "backend-2": 20 });
  });

  it("peak-EWMA avoids a slow instance even without concurrency", async () => {
    await setPolicy(control.url, { loadBalancing: LoadBalancing.PEAK_EWMA });
    await injectFault(backends[1]!.url, { case: "latency", value: { delay: durationFromMs(60) } as never }, ["mesh.data.v1.DataService/GetItem"]);
    await sleep(300);
    try {
      const before = await served(getItem);
      const statuses = await load(60, 1);
      expect(countOf(statuses, 200)).toBe(60);
      const spread = diff(await served(getItem), before);
      expect(spread["backend-2"]).toBeLessThanOrEqual(6);
      expect(spread["backend-1"]).toBeGreaterThanOrEqual(54);
    } finally {
      await clearFaults(backends[1]!.url);
      await setPolicy(control.url, { loadBalancing: LoadBalancing.ROUND_ROBIN });
    }
  });

  it("least-request sends most calls to the instance with fewer in flight (the other one is slow)", async () => {
    await setPolicy(control.url, { loadBalancing: LoadBalancing.LEAST_REQUEST });
    await injectFault(backends[0]!.url, { case: "latency", value: { delay: durationFromMs(150) } as never }, ["mesh.data.v1.DataService/GetItem"]);
    await sleep(300);
    try {
      const before = await served(getItem);
      const statuses = await load(120, 8);
      expect(countOf(statuses, 200)).toBe(120);
      const spread = diff(await served(getItem), before);
      expect(spread["backend-2"]).toBeGreaterThan(3 * spread["backend-1"]!);
    } finally {
      await clearFaults(backends[0]!.url);
    }
  });
});

describe("deadlines", () => {
  it("sends the caller's remaining deadline upstream: a hanging backend ends the call itself at that deadline", async () => {
    const hang = { case: "hang", value: { rate: 0 } as never } as const;
    for (const b of backends) await injectFault(b.url, hang, ["mesh.data.v1.DataService/GetItem"]);
    try {
      const before = await Promise.all(backends.map((b) => metricSum(b.url, "rpc_server_requests_total", { rpc_method: getItem, code: "deadline_exceeded" })));
      const error = await grpcClient(DataService, gateway.url)
        .getItem({ id: itemId }, { timeoutMs: 1000 })
        .then(() => undefined, (err: unknown) => ConnectError.from(err));
      expect(error?.code).toBe(Code.DeadlineExceeded);
      // The backend had a deadline of its own (no deadline would have hung for 5 minutes).
      const ended = await eventually(
        async () => (await Promise.all(backends.map((b) => metricSum(b.url, "rpc_server_requests_total", { rpc_method: getItem, code: "deadline_exceeded" })))).reduce((a, b) => a + b, 0),
        (n) => n > before.reduce((a, b) => a + b, 0),
      );
      expect(ended).toBeGreaterThan(before.reduce((a, b) => a + b, 0));
    } finally {
      for (const b of backends) await clearFaults(b.url);
    }
  });
});

describe("circuit breakers", () => {
  it("opens the breaker of a backend failing 100 %, moves all traffic to the healthy one, and closes it after recovery", async () => {
    await setPolicy(control.url, { loadBalancing: LoadBalancing.ROUND_ROBIN, breaker: { consecutiveFailures: 3, halfOpenAfter: durationFromMs(1000) } });
    await sleep(300);
    await injectFault(backends[0]!.url, unavailable(1), ["mesh.data.v1.DataService/GetItem"]);
    try {
      const first = await load(20, 1);
      // Every read succeeds: the failures are retried on the healthy instance.
      expect(countOf(first, 200)).toBe(20);
      const state = await metricSum(gateway.url, "gateway_breaker_state", { instance: "backend-1" });
      expect(state).toBe(1);
      const before = await served(getItem);
      const second = await load(30, 1);
      expect(countOf(second, 200)).toBe(30);
      const spread = diff(await served(getItem), before);
      // Only half-open probes reach the failing one.
      expect(spread["backend-1"]).toBeLessThanOrEqual(2);
      expect(spread["backend-2"]).toBeGreaterThanOrEqual(28);
      // The control plane shows this gateway's breaker as open.
      const listed = await eventually(
        () => grpcClient(BreakerService, control.url).listBreakers({ service: "backend" }),
        (r) => r.breakers.some((b) => b.instanceId === "backend-1" && b.gatewayId === "gateway-mesh" && b.state === BreakerState.OPEN),
      );
      expect(listed.breakers.find((b) => b.instanceId === "backend-1" && b.gatewayId === "gateway-mesh")?.state).toBe(BreakerState.OPEN);
    } finally {
      await clearFaults(backends[0]!.url);
    }
    // After recovery the half-open probe succeeds and the instance is back in rotation.
    const closed = await eventually(
      async () => {
        await read();
        return metricSum(gateway.url, "gateway_breaker_state", { instance: "backend-1" });
      },
      (s) => s === 0,
    );
    expect(closed).toBe(0);
    const before = await served(getItem);
    await load(20, 1);
    expect(diff(await served(getItem), before)["backend-1"]).toBeGreaterThanOrEqual(8);
  });

  it("fails fast with Unavailable when both backends fail, with upstream attempts within the retry budget", async () => {
    await setPolicy(control.url, {
      loadBalancing: LoadBalancing.ROUND_ROBIN,
      retry: { maxAttempts: 3, budgetRatio: 0.2, budgetMinPerSecond: 1 },
      breaker: { consecutiveFailures: 1000 },
    });
    await sleep(300);
    for (const b of backends) await injectFault(b.url, unavailable(1), ["mesh.data.v1.DataService/GetItem"]);
    // The budget counts the requests of the last 10 s: let the earlier tests' requests leave the window.
    await sleep(10_500);
    try {
      const before = await served(getItem);
      const started = Date.now();
      const statuses = await load(100, 1);
      const seconds = Math.ceil((Date.now() - started) / 1000) + 1;
      expect(countOf(statuses, 503)).toBe(100);
      const attempts = Object.values(diff(await served(getItem), before)).reduce((a, b) => a + b, 0);
      // One attempt per call, and retries within 20 % of the calls plus the floor of one per second.
      expect(attempts).toBeGreaterThanOrEqual(100);
      expect(attempts).toBeLessThanOrEqual(100 + 20 + seconds);
      expect(await metricSum(gateway.url, "gateway_retry_budget_exhausted_total")).toBeGreaterThan(0);
    } finally {
      for (const b of backends) await clearFaults(b.url);
      await setPolicy(control.url, { loadBalancing: LoadBalancing.ROUND_ROBIN });
    }
  });
});

describe("retries only where safe", () => {
  async function createItems(prefix: string, count: number, key?: (i: number) => string): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (key) headers["idempotency-key"] = key(i);
      const res = await fetch(`${gateway.url}/v1/items`, { method: "POST", headers, body: JSON.stringify({ name: `${prefix}-${i}` }) });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    return statuses;
  }
  const rows = async (prefix: string) => Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM items WHERE name LIKE $1", [`${prefix}-%`]))[0]!.n);

  it("never retries a non-idempotent call without an Idempotency-Key: one upstream call per request, one row per success", async () => {
    await setPolicy(control.url, { loadBalancing: LoadBalancing.ROUND_ROBIN, breaker: { consecutiveFailures: 1000 } });
    await sleep(300);
    await injectFault(backends[0]!.url, unavailable(1), ["mesh.data.v1.DataService/CreateItem"]);
    try {
      const before = await served(createItem);
      const statuses = await createItems("noretry", 30);
      const calls = Object.values(diff(await served(createItem), before)).reduce((a, b) => a + b, 0);
      expect(calls).toBe(30);
      const ok = countOf(statuses, 200);
      expect(ok).toBe(15);
      expect(countOf(statuses, 503)).toBe(15);
      expect(await rows("noretry")).toBe(ok);
    } finally {
      await clearFaults(backends[0]!.url);
    }
  });

  it("retries a non-idempotent call that carries an Idempotency-Key, on the other instance", async () => {
    // Half the calls fail and need a retry: more than the default budget (20 % plus 10 per second) allows.
    await setPolicy(control.url, { loadBalancing: LoadBalancing.ROUND_ROBIN, retry: { budgetRatio: 1 }, breaker: { consecutiveFailures: 1000 } });
    await sleep(300);
    await injectFault(backends[0]!.url, unavailable(1), ["mesh.data.v1.DataService/CreateItem"]);
    try {
      const statuses = await createItems("withkey", 20, (i) => `withkey-${crypto.randomUUID()}-${i}`);
      expect(statuses).toEqual(statuses.map(() => 200));
      expect(await rows("withkey")).toBe(20);
    } finally {
      await clearFaults(backends[0]!.url);
      await setPolicy(control.url, { loadBalancing: LoadBalancing.ROUND_ROBIN });
    }
  });
});

describe("an instance killed under load", () => {
  it("loses no read when one of two backends is SIGKILLed during a steady load, and stops picking it", async () => {
    await setPolicy(control.url, { loadBalancing: LoadBalancing.ROUND_ROBIN });
    await sleep(300);
    const victim = backends[1]!;
    let killed = false;
    const statuses = await load(600, 4, (done) => {
      if (done === 150 && !killed) {
        killed = true;
        victim.signal("SIGKILL");
      }
    });
    expect(killed).toBe(true);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // The balancer no longer picks it: its breaker is open or control marked it NOT_SERVING.
    const picks = () => metricSum(gateway.url, "gateway_balancer_picks_total", { instance: "backend-2" });
    const settled = await picks();
    await load(50, 2);
    expect(await picks()).toBeLessThanOrEqual(settled + 1);
  });

  it("keeps routing on the last known instances when the control plane goes away", async () => {
    await control.stop("SIGKILL");
    const statuses = await load(30, 2);
    expect(countOf(statuses, 200)).toBe(30);
  });
});
