import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTempDir } from "../../test/temp-dir.ts";
import { createPool } from "../db/create-pool.ts";
import { migrate } from "../db/migrate.ts";
import { isPortFree } from "./free-port.ts";
import { startLocalInfra, type LocalInfra } from "./local-infra.ts";

const backendMigrations = fileURLToPath(new URL("../../services/backend/migrations", import.meta.url));

// The fallback of `npm start` on machines without PostgreSQL: one embedded database, one session.
describe("PGlite fallback", () => {
  let removeDir: () => Promise<void>;
  let infra: LocalInfra;
  const warnings: string[] = [];
  beforeAll(async () => {
    const dir = await createTempDir("pglite-test");
    removeDir = dir.remove;
    infra = await startLocalInfra({
      dataDir: dir.path,
      // No binaries anywhere, and a Redis URL so that none is needed.
      searchPath: join(dir.path, "empty"),
      postgresVersionRoots: [],
      redisUrl: "redis://127.0.0.1:9",
      allowPglite: true,
      logger: { info() {}, warn: (_details, message) => warnings.push(message) },
    });
  }, 60_000);
  afterAll(async () => {
    await infra.stop();
    await removeDir();
  });

  it("serves PGlite and says what it cannot do", () => {
    expect(infra.postgres?.kind).toBe("pglite");
    expect(infra.databaseUrl).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(warnings.join("\n")).toContain("ONE session");
  });

  it("serves the wire protocol to pg and runs the backend migrations", async () => {
    const pool = createPool({ url: infra.databaseUrl, applicationName: "pglite-test", max: 1 });
    try {
      const files = readdirSync(backendMigrations).filter((f) => f.endsWith(".sql")).sort();
      expect((await migrate(pool, { dir: backendMigrations })).applied).toEqual(files);
      const { rows } = await pool.query<{ name: string; status: string; version: string }>(
        "INSERT INTO items (name) VALUES ($1) RETURNING name, status, version",
        ["first"],
      );
      expect(rows).toEqual([{ name: "first", status: "active", version: "1" }]);
    } finally {
      await pool.end();
    }
  });

  it("releases its port on stop and starts again on it", async () => {
    const pglite = infra.postgres!;
    const port = pglite.port;
    await pglite.stop();
    expect(await isPortFree(port)).toBe(true);
    await pglite.start();
    expect(pglite.port).toBe(port);
  }, 60_000);
});
