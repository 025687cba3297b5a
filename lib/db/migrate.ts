import { createHash } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import { loadMigrations, type Migration } from "./load-migrations.ts";
import { MigrationError } from "./migration-error.ts";
import { quoteIdent } from "./quote-ident.ts";

export interface MigrateOptions {
  /** Folder of numbered migrations: 0001_init.sql, 0002_add_x.sql, ... */
  dir: string;
  /**
   * Apply into this schema (created if missing): each migration runs with search_path set to it
   * alone, and schema_migrations lives there. Default: the connection's own search_path.
   */
  schema?: string;
  /** pg_advisory_lock key serialising migrators. Default: derived from `schema`. */
  lockKey?: bigint;
  logger?: { info(details: object, message: string): void };
}

export interface MigrateResult {
  /** File names applied by this call, in order. */
  readonly applied: readonly string[];
  /** How many migrations of `dir` were already recorded. */
  readonly alreadyApplied: number;
}

interface AppliedRow {
  version: string;
  name: string;
  checksum: string;
}

/**
 * Applies the migrations of `options.dir` that are not yet recorded in schema_migrations, in
 * version order, each in its own transaction together with its record. One session-level
 * pg_advisory_lock is held throughout, so instances starting together take turns: the second
 * waits, then finds everything applied. A recorded migration whose file changed is an error;
 * recorded versions without a file (a newer release ran first) are left alone.
 */
export async function migrate(pool: Pool, options: MigrateOptions): Promise<MigrateResult> {
  const migrations = await loadMigrations(options.dir);
  const schema = options.schema;
  const table = `${schema === undefined ? "" : `${quoteIdent(schema)}.`}schema_migrations`;
  const searchPath = schema === undefined ? undefined : `SET LOCAL search_path TO ${quoteIdent(schema)}`;
  const lockKey = (options.lockKey ?? defaultLockKey(schema)).toString();

  const client = await pool.connect();
  let failed = false;
  try {
    await inTransaction(client, async () => {
      // The wait may be long: the session lock outlives this transaction, its timeouts do not.
      await client.query("SET LOCAL statement_timeout = 0");
      await client.query("SET LOCAL lock_timeout = 0");
      await client.query("SELECT pg_advisory_lock($1::bigint)", [lockKey]);
    });
    try {
      const applied = await inTransaction(client, async () => {
        if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
          version bigint PRIMARY KEY,
          name text NOT NULL,
          checksum text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`);
        const result = await client.query<AppliedRow>(`SELECT version::text, name, checksum FROM ${table}`);
        return new Map(result.rows.map((row) => [Number(row.version), row]));
      });
      verifyUnchanged(migrations, applied);

      const done: string[] = [];
      for (const migration of migrations.filter((m) => !applied.has(m.version))) {
        await applyOne(client, migration, table, searchPath);
        options.logger?.info({ migration: migration.fileName, schema }, "applied migration");
        done.push(migration.fileName);
      }
      return { applied: done, alreadyApplied: migrations.length - done.length };
    } finally {
      await client.query("SELECT pg_advisory_unlock($1::bigint)", [lockKey]).catch(() => {
        failed = true;
      });
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // On failure the connection is closed rather than reused: that also frees the lock for sure.
    client.release(failed);
  }
}

async function applyOne(client: PoolClient, migration: Migration, table: string, searchPath: string | undefined): Promise<void> {
  try {
    await inTransaction(client, async () => {
      if (searchPath !== undefined) await client.query(searchPath);
      await client.query("SET LOCAL statement_timeout = 0");
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${table} (version, name, checksum) VALUES ($1, $2, $3)`, [
        migration.version,
        migration.name,
        migration.checksum,
      ]);
    });
  } catch (error) {
    const where = lineOf(migration.sql, (error as { position?: string }).position);
    throw new MigrationError(
      `migration ${migration.fileName} failed${where}, nothing of it was applied: ${(error as Error).message}`,
      migration.fileName,
      { cause: error },
    );
  }
}

function verifyUnchanged(migrations: readonly Migration[], applied: ReadonlyMap<number, AppliedRow>): void {
  for (const migration of migrations) {
    const row = applied.get(migration.version);
    if (row !== undefined && row.checksum !== migration.checksum) {
      throw new MigrationError(
        `migration ${migration.fileName} changed after it was applied (checksum ${row.checksum.slice(0, 12)} recorded, ` +
          `${migration.checksum.slice(0, 12)} on disk): applied migrations are final, revert the edit and add a new migration`,
        migration.fileName,
      );
    }
  }
}

async function inTransaction<T>(client: PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    const result = await work();
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

function defaultLockKey(schema: string | undefined): bigint {
  const digest = createHash("sha256").update(`connect-mesh:migrate:${schema ?? ""}`).digest();
  return digest.readBigInt64BE(0);
}

/** " at line N" for pg's 1-based character `position` in the failing SQL, or "". */
function lineOf(sql: string, position: string | undefined): string {
  const offset = Number(position);
  if (!Number.isInteger(offset) || offset < 1) return "";
  return ` at line ${sql.slice(0, offset - 1).split("\n").length}`;
}
