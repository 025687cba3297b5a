import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slowSessionPool } from "../../test/hold-snapshots.ts";
import { createTestSchema, type TestSchema } from "../../test/test-schema.ts";
import { pgCheck } from "./pg-check.ts";

let db: TestSchema;
beforeAll(async () => {
  db = await createTestSchema("pg-check");
});
afterAll(() => db.drop());

async function sessionTimeout(pool: pg.Pool): Promise<string> {
  return (await pool.query<{ statement_timeout: string }>("SHOW statement_timeout")).rows[0]!.statement_timeout;
}

describe("pgCheck", () => {
  it("passes under its own statement_timeout, whatever the connection's session carries, and leaves that as it was", async () => {
    const { pool, held, done } = await slowSessionPool(db);
    try {
      // The session's value does bite a plain `select 1` (on a checked-out client: the pool would close it).
      const session = await pool.connect();
      expect(await session.query("select 1").catch((e: unknown) => e)).toMatchObject({ code: "57014" });
      session.release();
      const outcome = pgCheck(pool)(new AbortController().signal).then(
        () => "passed",
        (e: unknown) => e,
      );
      await sleep(50);
      await held.release();
      expect(await outcome).toBe("passed");
      // The same session (a new one would say 0), its value untouched.
      expect(await sessionTimeout(pool)).toBe("1ms");
    } finally {
      await done();
    }
  });

  it("fails once its own statement_timeout has passed, on a session without one", async () => {
    const { pool, done } = await slowSessionPool(db, "0");
    try {
      const failure = await pgCheck(pool, { statementTimeoutMs: 50 })(new AbortController().signal).catch((e: unknown) => e);
      expect(failure).toMatchObject({ code: "57014" });
    } finally {
      await done();
    }
  });
});
