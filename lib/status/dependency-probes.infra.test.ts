import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionState } from "../../gen/mesh/health/v1/status_pb.ts";
import { slowSessionPool } from "../../test/hold-snapshots.ts";
import { createTestSchema, type TestSchema } from "../../test/test-schema.ts";
import { createPostgresProbe } from "./dependency-probes.ts";

let db: TestSchema;
beforeAll(async () => {
  db = await createTestSchema("dependency-probes");
});
afterAll(() => db.drop());

describe("createPostgresProbe", () => {
  it("pings under its own statement_timeout, whatever the connection's session carries, and leaves that as it was", async () => {
    const { pool, held, done } = await slowSessionPool(db);
    try {
      // The session's value does bite a plain `select 1` (on a checked-out client: the pool would close it).
      const session = await pool.connect();
      expect(await session.query("select 1").catch((e: unknown) => e)).toMatchObject({ code: "57014" });
      session.release();
      const status = createPostgresProbe(pool, 1)(new AbortController().signal);
      await sleep(50);
      await held.release();
      expect(await status).toMatchObject({ state: ConnectionState.CONNECTED, error: "" });
      // The same session (a new one would say 0), its value untouched.
      const { rows } = await pool.query<{ statement_timeout: string }>("SHOW statement_timeout");
      expect(rows).toEqual([{ statement_timeout: "1ms" }]);
    } finally {
      await done();
    }
  });

  it("reports the database unreachable once its own statement_timeout has passed, on a session without one", async () => {
    const { pool, done } = await slowSessionPool(db, "0");
    try {
      const status = await createPostgresProbe(pool, 1, { statementTimeoutMs: 50 })(AbortSignal.timeout(1000));
      expect(status).toMatchObject({ state: ConnectionState.DISCONNECTED, error: "unreachable (57014)" });
    } finally {
      await done();
    }
  });
});
