import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startLocalRedis, type LocalRedis } from "../../../../lib/infra/local-redis.ts";
import { infraUrls } from "../../../../test/infra-context.ts";
import { createTempDir } from "../../../../test/temp-dir.ts";
import { startTestBackend, type TestBackend } from "./test-backend.ts";

let dir: { path: string; remove(): Promise<void> };
let valkey: LocalRedis;
let t: TestBackend;

beforeAll(async () => {
  dir = await createTempDir("valkey-outage");
  valkey = await startLocalRedis({ dir: `${dir.path}/redis` });
  t = await startTestBackend({
    databaseUrl: infraUrls().databaseUrl,
    redisUrl: valkey.url,
    label: "valkey-outage",
    env: { CACHE_BREAKER_HALF_OPEN_MS: "200", CACHE_TIMEOUT_MS: "100" },
  });
});

afterAll(async () => {
  await t?.stop();
  await valkey?.stop();
  await dir?.remove();
});

async function circuitOpen(): Promise<number> {
  const { values } = await t.backend.service.registry.getSingleMetric("dependency_circuit_open")!.get();
  return values.find((v) => v.labels.dependency === "cache")?.value ?? -1;
}

describe("with Valkey stopped mid-test", () => {
  it("keeps serving reads and writes from PostgreSQL, then uses the cache again once Valkey is back", async () => {
    const item = (await t.data.createItem({ item: { name: "survivor" } })).item!;
    await t.data.getItem({ id: item.id });
    expect((await t.data.getItem({ id: item.id })).cached).toBe(true);

    await valkey.stop();
    for (let i = 0; i < 20; i++) {
      const read = await t.data.getItem({ id: item.id });
      expect(read).toMatchObject({ cached: false, item: { id: item.id } });
    }
    expect((await t.data.listItems({})).items.map((i) => i.id)).toContain(item.id);
    expect(await circuitOpen()).toBe(1);
    // Writes go on; their invalidations wait until Valkey answers again.
    const updated = (await t.data.updateItem({ item: { id: item.id, name: "written while down" }, updateMask: create(FieldMaskSchema, { paths: ["name"] }) })).item!;
    expect(t.backend.cache.pending).toBeGreaterThan(0);
    expect((await t.data.getItem({ id: item.id })).item).toEqual(updated);
    const created = (await t.data.createItem({ item: { name: "created while down" } })).item!;
    expect((await t.data.getItem({ id: created.id })).cached).toBe(false);

    await valkey.start();
    await vi.waitFor(
      async () => {
        await t.data.getItem({ id: item.id });
        expect((await t.data.getItem({ id: item.id })).cached).toBe(true);
      },
      { timeout: 15_000, interval: 100 },
    );
    expect((await t.data.getItem({ id: item.id })).item).toEqual(updated);
    await vi.waitFor(() => expect(t.backend.cache.pending).toBe(0), { timeout: 5000 });
    expect(await circuitOpen()).toBe(0);
  }, 60_000);
});

describe("with Valkey frozen (slow: connected, never answering)", () => {
  it("answers reads from PostgreSQL within the cache timeout instead of waiting", async () => {
    const item = (await t.data.createItem({ item: { name: "frozen" } })).item!;
    await t.data.getItem({ id: item.id });
    const probe = new Redis(valkey.url, { lazyConnect: true });
    await probe.connect();
    const pid = Number(/process_id:(\d+)/.exec(await probe.info("server"))![1]);
    probe.disconnect();

    process.kill(pid, "SIGSTOP");
    try {
      for (let i = 0; i < 10; i++) {
        // A deadline far below what a hung Valkey would take: the call still succeeds.
        const read = await t.data.getItem({ id: item.id }, { timeoutMs: 5000 });
        expect(read).toMatchObject({ cached: false, item: { id: item.id } });
      }
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await vi.waitFor(
      async () => {
        await t.data.getItem({ id: item.id });
        expect((await t.data.getItem({ id: item.id })).cached).toBe(true);
      },
      { timeout: 15_000, interval: 100 },
    );
  }, 60_000);
});
