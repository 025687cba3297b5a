import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTempDir } from "../../test/temp-dir.ts";
import { getFreePort, isPortFree } from "./free-port.ts";
import { InfraError } from "./infra-error.ts";
import { startLocalInfra } from "./local-infra.ts";
import { startLocalRedis, type LocalRedis } from "./local-redis.ts";

// These tests start servers of their own, beside the run's shared ones from test/global-setup.ts.

let dataDir: string;
let removeDataDir: () => Promise<void>;
beforeAll(async () => {
  ({ path: dataDir, remove: removeDataDir } = await createTempDir("local-infra-test"));
});
afterAll(async () => {
  await removeDataDir();
});

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function ping(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return await redis.ping();
  } finally {
    redis.disconnect();
  }
}

describe("startLocalInfra", () => {
  it("starts PostgreSQL and Redis on loopback ports, and stopping releases the ports", async () => {
    const infra = await startLocalInfra({ dataDir: join(dataDir, "first"), database: "infra_test" });
    try {
      expect(infra.postgres?.kind).toBe("postgres");
      expect(infra.databaseUrl).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/infra_test$/);
      expect(infra.redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);

      const [row] = await query<{ db: string; addr: string; fsync: string }>(
        infra.databaseUrl,
        "SELECT current_database() AS db, inet_server_addr()::text AS addr, current_setting('fsync') AS fsync",
      );
      expect(row).toEqual({ db: "infra_test", addr: "127.0.0.1/32", fsync: "off" });
      expect(await ping(infra.redisUrl)).toBe("PONG");
    } finally {
      await infra.stop();
    }
    expect(infra.postgres?.running).toBe(false);
    expect(infra.redis?.running).toBe(false);
    expect(await isPortFree(infra.postgres!.port)).toBe(true);
    expect(await isPortFree(infra.redis!.port)).toBe(true);
  });

  it("reuses an initialised data folder, keeping its data", async () => {
    const folder = join(dataDir, "reused");
    const first = await startLocalInfra({ dataDir: folder });
    try {
      await query(first.databaseUrl, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)");
    } finally {
      await first.stop();
    }
    const second = await startLocalInfra({ dataDir: folder });
    try {
      expect(await query(second.databaseUrl, "SELECT n FROM kept")).toEqual([{ n: 42 }]);
    } finally {
      await second.stop();
    }
  });

  it("starts only what has no URL", async () => {
    const redis = await startLocalRedis({ dir: join(dataDir, "given-redis") });
    try {
      const infra = await startLocalInfra({ dataDir: join(dataDir, "partial"), redisUrl: redis.url });
      try {
        expect(infra.redis).toBeUndefined();
        expect(infra.redisUrl).toBe(redis.url);
        expect(infra.postgres).toBeDefined();
      } finally {
        await infra.stop();
      }
      expect(redis.running).toBe(true);
    } finally {
      await redis.stop();
    }
  });
});

describe("startLocalRedis", () => {
  let redis: LocalRedis;
  beforeAll(async () => {
    redis = await startLocalRedis({ dir: join(dataDir, "redis") });
  });
  afterAll(async () => {
    await redis.stop();
  });

  it("stops, and starts again on the same port", async () => {
    const { url, port } = redis;
    expect(await ping(url)).toBe("PONG");

    await redis.stop();
    expect(redis.running).toBe(false);
    expect(await isPortFree(port)).toBe(true);
    await expect(ping(url)).rejects.toThrow();

    await redis.start();
    expect(redis.port).toBe(port);
    expect(redis.url).toBe(url);
    expect(await ping(url)).toBe("PONG");

    await redis.restart();
    expect(redis.port).toBe(port);
    expect(await ping(url)).toBe("PONG");
  });

  it("keeps one client working across a restart once it reconnects", async () => {
    const client = new Redis(redis.url, { retryStrategy: () => 20, maxRetriesPerRequest: null });
    try {
      await client.set("survives", "no");
      await redis.restart();
      // No persistence: the restarted server is empty, and the client has reconnected by itself.
      expect(await client.get("survives")).toBeNull();
    } finally {
      client.disconnect();
    }
  });
});

describe("errors", () => {
  let blocker: Server | undefined;
  afterAll(async () => {
    await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
  });

  it("names the fix when no Redis binary is found", async () => {
    const error = await startLocalRedis({ dir: join(dataDir, "no-redis"), searchPath: join(dataDir, "empty") }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InfraError);
    expect(error).toMatchObject({ code: "BINARY_NOT_FOUND" });
    expect((error as InfraError).hint).toContain("apt-get install -y redis-server");
    expect((error as InfraError).hint).toContain("REDIS_URL");
  });

  it("names the fix when no PostgreSQL is found and PGlite is not allowed", async () => {
    const error = await startLocalInfra({
      dataDir: join(dataDir, "no-postgres"),
      redisUrl: "redis://127.0.0.1:9",
      searchPath: join(dataDir, "empty"),
      postgresVersionRoots: [],
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InfraError);
    expect(error).toMatchObject({ code: "BINARY_NOT_FOUND" });
    expect((error as InfraError).hint).toContain("DATABASE_URL");
  });

  it("says which port is in use when asked for a taken one", async () => {
    const port = await getFreePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(port, "127.0.0.1", resolve));
    const error = await startLocalRedis({ dir: join(dataDir, "busy"), port }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InfraError);
    expect(error).toMatchObject({ code: "PORT_IN_USE", message: `port ${port} on 127.0.0.1 is already in use` });
    expect((error as InfraError).describe()).toMatch(/\n {2}fix: /);
  });
});
