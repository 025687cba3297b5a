import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { BrokenCircuitError, TaskCancelledError } from "cockatiel";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { FaultSchema } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { createTestRedis, type TestRedis } from "../../../../test/test-redis.ts";
import { createDependencyFaultGate } from "../faults/dependency-fault-gate.ts";
import { createFaultRegistry } from "../faults/fault-registry.ts";
import { createCacheClient, type CacheCaller, type CacheClient } from "./cache-client.ts";
import { encodeCacheEntry } from "./cache-entry.ts";
import { createDataMetrics } from "./data-metrics.ts";

let kv: TestRedis;
let client: CacheClient;
const faults = createFaultRegistry();
let gateCalls = 0;
const gate = createDependencyFaultGate(faults, { onEffect: () => gateCalls++ });
const caller: CacheCaller = { signal: new AbortController().signal, procedure: "mesh.data.v1.DataService/GetItem" };

beforeAll(async () => {
  kv = await createTestRedis("cache-client");
});
// A client (and so a breaker) of its own for each test.
beforeEach(() => {
  const metrics = createDataMetrics({ totalCount: 0, idleCount: 0, waitingCount: 0 });
  client = createCacheClient(
    { redis: kv.redis, gate, logger: pino({ level: "silent" }), metrics },
    { timeoutMs: 50, breakerThreshold: 3, breakerHalfOpenMs: 100 },
  );
});
afterEach(() => {
  faults.clearAll();
  gateCalls = 0;
});
afterAll(async () => {
  faults.close();
  await kv.deleteKeysAndQuit();
});

function cacheFault(failureRate: number, latencyMs?: number) {
  faults.inject(
    create(FaultSchema, {
      spec: { case: "cache", value: { failureRate, ...(latencyMs === undefined ? {} : { addedLatency: durationFromMs(latencyMs) }) } },
      duration: durationFromMs(60_000),
    }),
  );
}

describe("cache client", () => {
  it("fills entries only when no newer version is cached, and invalidates with a tombstone and a new generation", async () => {
    const key = kv.key("item:1");
    const generation = kv.key("items:gen");
    expect(await client.fillEntry(caller, key, encodeCacheEntry({ kind: "missing", version: 2n }), 2n, 10_000)).toBe(true);
    expect(await client.fillEntry(caller, key, encodeCacheEntry({ kind: "missing", version: 1n }), 1n, 10_000)).toBe(false);
    await client.invalidateEntry(caller, key, generation, encodeCacheEntry({ kind: "tombstone", version: 3n }), 3n, 10_000);
    expect(await kv.redis.get(key)).toBe("3:T");
    expect(await kv.redis.get(generation)).toBe("1");
    // An invalidation never moves an entry back to an older version.
    await client.invalidateEntry(caller, key, generation, encodeCacheEntry({ kind: "tombstone", version: 2n }), 2n, 10_000);
    expect(await kv.redis.get(key)).toBe("3:T");
    expect(await kv.redis.get(generation)).toBe("2");
    expect(await client.fillEntry(caller, key, encodeCacheEntry({ kind: "missing", version: 3n }), 3n, 10_000)).toBe(true);
    expect(await kv.redis.pttl(key)).toBeLessThanOrEqual(10_000);
  });

  it("gives up on a slow Valkey after its timeout", async () => {
    cacheFault(0, 5000);
    await expect(client.get(caller, kv.key("slow"))).rejects.toBeInstanceOf(TaskCancelledError);
  });

  it("does not mistake a busy event loop for a slow Valkey", async () => {
    await kv.redis.set(kv.key("busy"), "v");
    const pending = client.get(caller, kv.key("busy"));
    await new Promise((resolve) => setImmediate(resolve)); // the command is on the wire, its timer running
    const until = performance.now() + 200; // four times the timeout, with the reply waiting in the socket
    while (performance.now() < until);
    expect((await pending)?.toString()).toBe("v");
  });

  it("opens the breaker after consecutive failures, skips Valkey while open, and closes after a good trial call", async () => {
    cacheFault(1);
    for (let i = 0; i < 3; i++) await expect(client.get(caller, kv.key("x"))).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(client.open).toBe(true);
    const reached = gateCalls;
    for (let i = 0; i < 10; i++) await expect(client.get(caller, kv.key("x"))).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(gateCalls).toBe(reached);

    faults.clearAll();
    await vi.waitFor(() => expect(client.get(caller, kv.key("x"))).resolves.toBeNull(), { timeout: 2000, interval: 20 });
    expect(client.open).toBe(false);
  });

  it("does not blame Valkey for callers that went away", async () => {
    cacheFault(0, 30);
    for (let i = 0; i < 5; i++) {
      const gone = new AbortController();
      const pending = client.get({ signal: gone.signal, procedure: undefined }, kv.key("y"));
      gone.abort(new Error("client cancelled"));
      await expect(pending).rejects.toThrow();
    }
    faults.clearAll();
    expect(client.open).toBe(false);
    expect(await client.get(caller, kv.key("y"))).toBeNull();
  });
});
