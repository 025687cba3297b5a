import { rm, writeFile } from "node:fs/promises";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTempDir } from "../../test/temp-dir.ts";
import { createTestSchema, type TestSchema } from "../../test/test-schema.ts";
import { createPool } from "./create-pool.ts";
import { migrate } from "./migrate.ts";
import { MigrationError } from "./migration-error.ts";

const backendMigrations = fileURLToPath(new URL("../../services/backend/migrations", import.meta.url));

async function tableNames(pool: pg.Pool, schema: string): Promise<string[]> {
  const { rows } = await pool.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
    [schema],
  );
  return rows.map((row) => row.table_name);
}

async function recorded(pool: pg.Pool, schema: string): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT name FROM "${schema}".schema_migrations ORDER BY version`,
  );
  return rows.map((row) => row.name);
}

describe("migrate with the backend migrations", () => {
  let db: TestSchema;
  beforeAll(async () => {
    db = await createTestSchema("backend-migrations");
  });
  afterAll(() => db.drop());

  it("applies every backend migration into a fresh schema, then has nothing left to do", async () => {
    const files = readdirSync(backendMigrations).filter((f) => f.endsWith(".sql")).sort();
    expect(files[0]).toBe("0001_init.sql");
    expect(await migrate(db.pool, { dir: backendMigrations, schema: db.schema })).toEqual({
      applied: files,
      alreadyApplied: 0,
    });
    expect(await tableNames(db.pool, db.schema)).toEqual([
      "audit_log",
      "idempotency_keys",
      "items",
      "outbox",
      "schema_migrations",
      "users",
    ]);
    expect(await migrate(db.pool, { dir: backendMigrations, schema: db.schema })).toEqual({
      applied: [],
      alreadyApplied: files.length,
    });
  });

  it("gives items their defaults and checks", async () => {
    const { rows } = await db.pool.query("INSERT INTO items (name) VALUES ('a') RETURNING metadata, status, version, deleted_at");
    expect(rows).toEqual([{ metadata: {}, status: "active", version: "1", deleted_at: null }]);
    await expect(db.pool.query("INSERT INTO items (name) VALUES ('')")).rejects.toMatchObject({ code: "23514" });
    await expect(db.pool.query("INSERT INTO items (name) VALUES (repeat('x', 201))")).rejects.toMatchObject({ code: "23514" });
    await expect(db.pool.query("INSERT INTO items (name, status) VALUES ('b', 'gone')")).rejects.toMatchObject({ code: "23514" });
  });

  it("keeps user emails unique regardless of case", async () => {
    await db.pool.query("INSERT INTO users (email, name) VALUES ('Ada@Example.com', 'Ada')");
    await expect(db.pool.query("INSERT INTO users (email, name) VALUES ('ada@example.COM', 'Other')")).rejects.toMatchObject({
      code: "23505",
    });
  });
});

describe("migrate with synthetic migrations", () => {
  let db: TestSchema;
  let dir: string;
  let removeDir: () => Promise<void>;
  beforeEach(async () => {
    db = await createTestSchema("migrate");
    ({ path: dir, remove: removeDir } = await createTempDir("migrations"));
  });
  afterEach(async () => {
    await db.drop();
    await removeDir();
  });

  async function write(files: Record<string, string>): Promise<void> {
    for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
  }

  it("applies each migration once when two instances migrate at the same time", async () => {
    // CREATE TABLE without IF NOT EXISTS: applying any file twice would fail.
    await write({
      "0001_a.sql": "CREATE TABLE a (id int);",
      "0002_b.sql": "CREATE TABLE b (id int);",
      "0003_c.sql": "CREATE TABLE c (id int);",
    });
    const lockKey = 4_242_001n;
    const [first, second, holder] = [db.createPool(), db.createPool(), db.createPool({ max: 1 })];

    // Hold the lock so that both migrators are surely waiting on it before either proceeds.
    const held = await holder.connect();
    await held.query("SELECT pg_advisory_lock($1::bigint)", [lockKey.toString()]);
    const running = Promise.all([
      migrate(first, { dir, schema: db.schema, lockKey }),
      migrate(second, { dir, schema: db.schema, lockKey }),
    ]);
    while (true) {
      const { rows } = await held.query<{ waiting: string }>(
        "SELECT count(*) AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1::bigint % 4294967296",
        [lockKey.toString()],
      );
      if (rows[0]?.waiting === "2") break;
      await sleep(20);
    }
    await held.query("SELECT pg_advisory_unlock($1::bigint)", [lockKey.toString()]);
    held.release();

    const results = await running;
    expect(results.flatMap((result) => result.applied).sort()).toEqual(["0001_a.sql", "0002_b.sql", "0003_c.sql"]);
    expect(results.map((result) => result.applied.length).sort()).toEqual([0, 3]);
    expect(await recorded(db.pool, db.schema)).toEqual(["a", "b", "c"]);
  });

  it("rejects a migration whose file changed after it was applied, and applies nothing more", async () => {
    await write({ "0001_a.sql": "CREATE TABLE a (id int);" });
    await migrate(db.pool, { dir, schema: db.schema });
    await write({ "0001_a.sql": "CREATE TABLE a (id bigint);", "0002_b.sql": "CREATE TABLE b (id int);" });

    const error = await migrate(db.pool, { dir, schema: db.schema }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MigrationError);
    expect(error).toMatchObject({ file: "0001_a.sql" });
    expect((error as Error).message).toMatch(/0001_a\.sql changed after it was applied.*add a new migration/);
    expect(await tableNames(db.pool, db.schema)).toEqual(["a", "schema_migrations"]);
  });

  it("rolls a failing migration back entirely and records nothing of it", async () => {
    await write({
      "0001_a.sql": "CREATE TABLE a (id int);",
      "0002_b.sql": "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\nINSERT INTO missing VALUES (1);\n",
    });
    const error = await migrate(db.pool, { dir, schema: db.schema }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/0002_b\.sql failed at line 3, nothing of it was applied: .*"missing" does not exist/);
    expect(await tableNames(db.pool, db.schema)).toEqual(["a", "schema_migrations"]);
    expect(await recorded(db.pool, db.schema)).toEqual(["a"]);

    // Not recorded, so a fixed file is simply applied next time.
    await write({ "0002_b.sql": "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\n" });
    expect((await migrate(db.pool, { dir, schema: db.schema })).applied).toEqual(["0002_b.sql"]);
  });

  it("leaves recorded versions without a file alone (a newer release migrated first)", async () => {
    await write({ "0001_a.sql": "CREATE TABLE a (id int);", "0002_b.sql": "CREATE TABLE b (id int);" });
    await migrate(db.pool, { dir, schema: db.schema });
    await rm(join(dir, "0002_b.sql"));
    expect(await migrate(db.pool, { dir, schema: db.schema })).toEqual({ applied: [], alreadyApplied: 1 });
  });
});

describe("createPool", () => {
  let db: TestSchema;
  beforeAll(async () => {
    db = await createTestSchema("create-pool");
  });
  afterAll(() => db.drop());

  it("runs every connection in the schema, however odd its name", async () => {
    const odd = `${db.schema} "odd" \\ name`;
    await db.pool.query(`CREATE SCHEMA "${odd.replaceAll('"', '""')}"`);
    const pool = createPool({ url: db.databaseUrl, applicationName: "create-pool-test", schema: odd, max: 2 });
    try {
      const clients = await Promise.all([pool.connect(), pool.connect()]);
      for (const client of clients) {
        const { rows } = await client.query<{ schema: string }>("SELECT current_schema() AS schema");
        expect(rows).toEqual([{ schema: odd }]);
        client.release();
      }
    } finally {
      await pool.end();
      await db.pool.query(`DROP SCHEMA "${odd.replaceAll('"', '""')}" CASCADE`);
    }
  });

  it("sets the application name and the statement timeout", async () => {
    const pool = createPool({ url: db.databaseUrl, applicationName: "mesh-test-app", statementTimeoutMs: 1234, max: 1 });
    try {
      const { rows } = await pool.query<{ app: string; timeout: string }>(
        "SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS timeout",
      );
      expect(rows).toEqual([{ app: "mesh-test-app", timeout: "1234ms" }]);
    } finally {
      await pool.end();
    }
  });
});
