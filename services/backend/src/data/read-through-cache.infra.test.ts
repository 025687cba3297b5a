import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { infraUrls } from "../../../../test/infra-context.ts";
import { decodeCacheEntry } from "./cache-entry.ts";
import { startTestBackend, type TestBackend } from "./test-backend.ts";

let t: TestBackend;

beforeAll(async () => {
  t = await startTestBackend({ ...infraUrls(), label: "read-through", env: { CACHE_TTL_SECONDS: "60", CACHE_NEGATIVE_TTL_SECONDS: "3" } });
});
afterAll(() => t?.stop());

/** Sum of a counter's or histogram's count over the series whose labels include `labels`. */
async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const found = registry.getSingleMetric(name);
  if (found === undefined) throw new Error(`no metric ${name}`);
  const { values } = await found.get();
  return values
    .filter((v) => {
      const series = (v as { metricName?: string }).metricName;
      return series === undefined || series === name || series === `${name}_count`;
    })
    .filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

async function entryOf(id: string, cache = "item") {
  const raw = await t.redis.getBuffer(t.backend.cache.keys.entity(cache, id));
  return raw === null ? null : decodeCacheEntry(raw);
}

const registry = () => t.backend.service.registry;
const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });

describe("entities", () => {
  it("fills on a miss, serves hits from Valkey, and counts both", async () => {
    const item = (await t.data.createItem({ item: { name: "cached" } })).item!;
    expect(await entryOf(item.id)).toBeNull();
    const hitsBefore = await metric(registry(), "cache_hits_total", { cache: "item" });
    const missesBefore = await metric(registry(), "cache_misses_total", { cache: "item" });

    expect((await t.data.getItem({ id: item.id })).cached).toBe(false);
    const entry = await entryOf(item.id);
    expect(entry).toMatchObject({ kind: "value", version: 1n });
    const ttl = await t.redis.pttl(t.backend.cache.keys.entity("item", item.id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);

    const hit = await t.data.getItem({ id: item.id });
    expect(hit).toMatchObject({ cached: true, item });
    expect(await metric(registry(), "cache_hits_total", { cache: "item" })).toBe(hitsBefore + 1);
    expect(await metric(registry(), "cache_misses_total", { cache: "item" })).toBe(missesBefore + 1);
  });

  it("serves what Valkey holds until a write invalidates it; nocache reads PostgreSQL", async () => {
    const item = (await t.data.createItem({ item: { name: "original" } })).item!;
    await t.data.getItem({ id: item.id });
    // Changed behind the service's back: the cache does not know.
    await t.pool.query("UPDATE items SET name = 'changed in SQL' WHERE id = $1", [item.id]);
    expect((await t.data.getItem({ id: item.id })).item!.name).toBe("original");
    expect((await t.data.getItem({ id: item.id, nocache: true })).item!.name).toBe("changed in SQL");
  });

  it("invalidates after update, delete and undelete, leaving tombstones of the new version", async () => {
    const item = (await t.data.createItem({ item: { name: "v1" } })).item!;
    await t.data.getItem({ id: item.id });
    const generationKey = t.backend.cache.keys.generation("items");
    const generation = Number((await t.redis.get(generationKey)) ?? 0);

    await t.data.updateItem({ item: { id: item.id, name: "v2" }, updateMask: mask("name") });
    expect(await entryOf(item.id)).toEqual({ kind: "tombstone", version: 2n });
    expect(Number(await t.redis.get(generationKey))).toBe(generation + 1);
    expect(await t.data.getItem({ id: item.id })).toMatchObject({ cached: false, item: { name: "v2", version: 2n } });
    expect(await entryOf(item.id)).toMatchObject({ kind: "value", version: 2n });

    await t.data.deleteItem({ id: item.id });
    expect(await entryOf(item.id)).toEqual({ kind: "tombstone", version: 3n });
    await expect(t.data.getItem({ id: item.id })).rejects.toMatchObject({ code: Code.NotFound });
    expect(await entryOf(item.id)).toEqual({ kind: "missing", version: 3n });

    await t.data.undeleteItem({ id: item.id });
    expect(await entryOf(item.id)).toEqual({ kind: "tombstone", version: 4n });
    expect((await t.data.getItem({ id: item.id })).item!.version).toBe(4n);
  });

  it("remembers NotFound for a short time only", async () => {
    const id = crypto.randomUUID();
    await expect(t.data.getItem({ id })).rejects.toMatchObject({ code: Code.NotFound });
    expect(await entryOf(id)).toEqual({ kind: "missing", version: 0n });
    const ttl = await t.redis.pttl(t.backend.cache.keys.entity("item", id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3000);
    const hits = await metric(registry(), "cache_hits_total", { cache: "item" });
    await expect(t.data.getItem({ id })).rejects.toMatchObject({ code: Code.NotFound });
    expect(await metric(registry(), "cache_hits_total", { cache: "item" })).toBe(hits + 1);
  });

  it("refuses to put back a version older than what a write left (the read/write race)", async () => {
    const item = (await t.data.createItem({ item: { name: "raced" } })).item!;
    await t.data.updateItem({ item: { id: item.id, name: "raced 2" }, updateMask: mask("name") });
    const key = t.backend.cache.keys.entity("item", item.id);
    expect(await t.redis.get(key)).toBe("2:T");
    // What a read that loaded version 1 before the update committed would try to store now.
    const result = await t.redis.eval(readFileSync(new URL("./lua/fill-entry-1.lua", import.meta.url), "utf8"), 1, key, "1:Vstale", "1", "60000");
    expect(result).toBe(0);
    expect((await t.data.getItem({ id: item.id })).item!.name).toBe("raced 2");
  });

  it("loads once from PostgreSQL when many requests miss the same key at once", async () => {
    const item = (await t.data.createItem({ item: { name: "stampede" } })).item!;
    const loadsBefore = await metric(registry(), "db_query_duration_seconds", { operation: "item.select" });
    const missesBefore = await metric(registry(), "cache_misses_total", { cache: "item" });
    const results = await Promise.all(Array.from({ length: 50 }, () => t.data.getItem({ id: item.id })));
    expect(results.every((r) => r.item!.id === item.id)).toBe(true);
    expect(await metric(registry(), "db_query_duration_seconds", { operation: "item.select" })).toBe(loadsBefore + 1);
    // Each of the 50 reads was served without the cache, though they shared one lookup and one load.
    expect(await metric(registry(), "cache_misses_total", { cache: "item" })).toBe(missesBefore + 50);

    const hitsBefore = await metric(registry(), "cache_hits_total", { cache: "item" });
    const hits = await Promise.all(Array.from({ length: 50 }, () => t.data.getItem({ id: item.id })));
    expect(hits.every((r) => r.cached)).toBe(true);
    expect(await metric(registry(), "cache_hits_total", { cache: "item" })).toBe(hitsBefore + 50);
  });

  it("caches users too", async () => {
    const user = (await t.data.createUser({ user: { email: "cache@example.com", name: "C" } })).user!;
    expect((await t.data.getUser({ id: user.id })).cached).toBe(false);
    expect(await entryOf(user.id, "user")).toMatchObject({ kind: "value", version: 1n });
    expect(await t.data.getUser({ id: user.id })).toMatchObject({ cached: true, user });
    expect((await t.data.getUser({ id: user.id, nocache: true })).cached).toBe(false);
  });
});

describe("list pages", () => {
  async function pageKeys(collection: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await t.redis.scan(cursor, "MATCH", `${t.keyPrefix}${collection}:page:*`, "COUNT", 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== "0");
    return found;
  }

  it("caches pages under the collection's generation, which every write moves on", async () => {
    const generationKey = t.backend.cache.keys.generation("items");
    const before = await t.data.listItems({ pageSize: 1000 });
    const generation = (await t.redis.get(generationKey)) ?? "0";
    expect((await pageKeys("items")).filter((k) => k.includes(`:page:${generation}:`))).toHaveLength(1);

    const hits = await metric(registry(), "cache_hits_total", { cache: "items_page" });
    expect(await t.data.listItems({ pageSize: 1000 })).toEqual(before);
    expect(await metric(registry(), "cache_hits_total", { cache: "items_page" })).toBe(hits + 1);

    const added = (await t.data.createItem({ item: { name: "new in list" } })).item!;
    expect(Number(await t.redis.get(generationKey))).toBe(Number(generation) + 1);
    const after = await t.data.listItems({ pageSize: 1000 });
    expect(after.totalSize).toBe(before.totalSize + 1n);
    expect(after.items.map((i) => i.id)).toContain(added.id);

    await t.data.updateItem({ item: { id: added.id, name: "renamed in list" }, updateMask: mask("name") });
    expect((await t.data.listItems({ pageSize: 1000 })).items.find((i) => i.id === added.id)!.name).toBe("renamed in list");
  });

  it("does the same for users", async () => {
    const before = await t.data.listUsers({});
    await t.data.createUser({ user: { email: `list-${crypto.randomUUID()}@example.com`, name: "L" } });
    expect((await t.data.listUsers({})).totalSize).toBe(before.totalSize + 1n);
  });
});

describe("errors are not cached as values", () => {
  it("passes a database failure through without filling the cache", async () => {
    const item = (await t.data.createItem({ item: { name: "not cached on error" } })).item!;
    await t.pool.query("ALTER TABLE items RENAME COLUMN name TO name_moved");
    try {
      const failure = await t.data.getItem({ id: item.id }).catch((e: unknown) => ConnectError.from(e));
      expect(failure).toMatchObject({ code: Code.Internal });
      expect(await entryOf(item.id)).toBeNull();
    } finally {
      await t.pool.query("ALTER TABLE items RENAME COLUMN name_moved TO name");
    }
  });
});
