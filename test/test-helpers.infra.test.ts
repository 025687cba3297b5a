import { Redis } from "ioredis";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { infraUrls } from "./infra-context.ts";
import { createTestRedis, testKeyPrefix } from "./test-redis.ts";
import { createTestSchema } from "./test-schema.ts";

describe("test helpers", () => {
  it("createTestSchema isolates a schema and drop() removes it", async () => {
    const db = await createTestSchema("helpers");
    await db.pool.query("CREATE TABLE t (n int)");
    const { rows } = await db.pool.query<{ schema: string }>(
      "SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 't'",
    );
    expect(rows).toContainEqual({ schema: db.schema });
    await db.drop();

    const client = new pg.Client({ connectionString: infraUrls().databaseUrl });
    await client.connect();
    try {
      const left = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [db.schema]);
      expect(left.rowCount).toBe(0);
    } finally {
      await client.end();
    }
  });

  it("createTestRedis deletes its own keys and no others", async () => {
    const kv = await createTestRedis("helpers");
    const other = new Redis(infraUrls().redisUrl);
    const outside = `${testKeyPrefix("outside")}kept`;
    try {
      await other.set(outside, "1");
      await kv.redis.set(kv.key("a"), "1");
      await kv.redis.hset(kv.key("b"), "f", "v");
      await kv.deleteKeysAndQuit();
      expect(await other.exists(`${kv.prefix}a`, `${kv.prefix}b`)).toBe(0);
      expect(await other.get(outside)).toBe("1");
    } finally {
      await other.del(outside);
      other.disconnect();
    }
  });

  it("gives each call its own prefix", () => {
    expect(testKeyPrefix("x")).not.toBe(testKeyPrefix("x"));
    expect(testKeyPrefix("Rate Limit")).toMatch(/^test_rate_limit_\d+_[0-9a-f]{10}:$/);
  });
});
