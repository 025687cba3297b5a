import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadMigrations, parseMigrationFileName } from "./load-migrations.ts";
import { MigrationError } from "./migration-error.ts";

describe("parseMigrationFileName", () => {
  it.each([
    ["0001_init.sql", 1, "init"],
    ["0002_add-users.sql", 2, "add-users"],
    ["0010_items_v2.sql", 10, "items_v2"],
    ["12345_big.sql", 12345, "big"],
  ])("accepts %s", (fileName, version, name) => {
    expect(parseMigrationFileName(fileName)).toEqual({ version, name });
  });

  it.each([
    ["init.sql", "must be named <number>_<name>.sql"],
    ["0001-init.sql", "must be named <number>_<name>.sql"],
    ["0001_.sql", "must be named <number>_<name>.sql"],
    ["0001_init.SQL", "must be named <number>_<name>.sql"],
    ["0001_in it.sql", "must be named <number>_<name>.sql"],
    ["0000_zero.sql", "version from 1 up"],
  ])("rejects %s", (fileName, message) => {
    expect(() => parseMigrationFileName(fileName)).toThrow(MigrationError);
    expect(() => parseMigrationFileName(fileName)).toThrow(message);
  });

  it("names the file and an example of a good name", () => {
    expect(() => parseMigrationFileName("init.sql")).toThrow(/"init\.sql".*e\.g\. 0001_init\.sql/);
  });
});

describe("loadMigrations", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function folder(files: Record<string, string>): Promise<string> {
    dir = await mkdtemp(join(tmpdir(), "migrations-"));
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return dir;
  }

  it("orders by version number, not by name, and ignores other files", async () => {
    const migrations = await loadMigrations(
      await folder({ "10_ten.sql": "SELECT 10;", "0002_two.sql": "SELECT 2;", "README.md": "notes", "0001_one.sql": "SELECT 1;" }),
    );
    expect(migrations.map((m) => m.fileName)).toEqual(["0001_one.sql", "0002_two.sql", "10_ten.sql"]);
    expect(migrations[0]?.sql).toBe("SELECT 1;");
    expect(migrations[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it("gives the same checksum to the same bytes and another to other bytes", async () => {
    const [a, b, c] = await loadMigrations(
      await folder({ "0001_a.sql": "SELECT 1;", "0002_b.sql": "SELECT 1;", "0003_c.sql": "SELECT 1; " }),
    );
    expect(a?.checksum).toBe(b?.checksum);
    expect(c?.checksum).not.toBe(a?.checksum);
  });

  it("rejects two files with one version", async () => {
    await expect(loadMigrations(await folder({ "0001_a.sql": "", "001_b.sql": "" }))).rejects.toThrow(/share version 1/);
  });

  it("rejects a badly named .sql file", async () => {
    await expect(loadMigrations(await folder({ "0001_a.sql": "", "init.sql": "" }))).rejects.toThrow(/"init\.sql"/);
  });
});
