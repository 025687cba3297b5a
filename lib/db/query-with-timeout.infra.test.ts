import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, type TestSchema } from "../../test/test-schema.ts";
import { queryWithTimeout } from "./query-with-timeout.ts";

let db: TestSchema;
beforeAll(async () => {
  db = await createTestSchema("query-with-timeout");
});
afterAll(() => db.drop());

/**
 * A connection whose session statement_timeout was left at `value`, as the data runner may leave it. Checked
 * out, since a pool closes a connection whose query failed and the tests look at the same session afterwards.
 */
async function sessionWithTimeout(value: string): Promise<pg.PoolClient> {
  const client = await db.pool.connect();
  await client.query(`SET statement_timeout = '${value}'`);
  return client;
}

async function sessionTimeout(client: pg.PoolClient): Promise<string> {
  return (await client.query<{ statement_timeout: string }>("SHOW statement_timeout")).rows[0]!.statement_timeout;
}

describe("queryWithTimeout", () => {
  it("runs a statement that outlasts the session's statement_timeout, and leaves the session's value as it was", async () => {
    const client = await sessionWithTimeout("1ms");
    try {
      // The session's value does bite a plain query.
      expect(await client.query("SELECT pg_sleep(0.02)").catch((e: unknown) => e)).toMatchObject({ code: "57014" });

      const { rows } = await queryWithTimeout<{ n: number }>(client, "SELECT pg_sleep(0.02), 7 AS n", 1000);
      expect(rows).toEqual([{ pg_sleep: "", n: 7 }]);
      expect(await sessionTimeout(client)).toBe("1ms");
    } finally {
      client.release(true);
    }
  });

  it.each([
    ["its own timeout", "SELECT pg_sleep(2)", 50, "57014"],
    ["an error of the statement", "SELECT 1/0", 1000, "22012"],
  ])("fails on %s, leaving no transaction open and the session's value as it was", async (_label, statement, timeoutMs, code) => {
    const client = await sessionWithTimeout("1min");
    try {
      const started = Date.now();
      expect(await queryWithTimeout(client, statement, timeoutMs).catch((e: unknown) => e)).toMatchObject({ code });
      expect(Date.now() - started).toBeLessThan(1500);
      // An aborted transaction left open would refuse this with 25P02.
      expect((await client.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
      expect(await sessionTimeout(client)).toBe("1min");
    } finally {
      client.release(true);
    }
  });

  it.each([0, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY])("refuses a timeout of %s ms", async (timeoutMs) => {
    await expect(queryWithTimeout(db.pool, "SELECT 1", timeoutMs)).rejects.toThrow(RangeError);
  });
});
