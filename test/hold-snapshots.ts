import type pg from "pg";
import type { TestSchema } from "./test-schema.ts";

export interface HeldSnapshots {
  /** Ends the blocking transaction: the waiting statements go on. */
  release(): Promise<void>;
}

/**
 * Makes every statement that needs a snapshot on `session` wait until release(), so that a fixed, quick
 * statement such as `select 1` outlasts a tiny statement_timeout. The session's transactions become
 * SERIALIZABLE READ ONLY DEFERRABLE, which wait for a safe snapshot while a serializable read-write
 * transaction is open; `blocker`, another connection, holds one open. The session keeps those defaults.
 */
export async function holdSnapshots(session: pg.ClientBase, blocker: pg.ClientBase): Promise<HeldSnapshots> {
  await session.query(
    "SET default_transaction_isolation = serializable; SET default_transaction_read_only = on; SET default_transaction_deferrable = on",
  );
  // A serializable transaction counts once it has taken its first snapshot.
  await blocker.query("BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT 1");
  return {
    async release() {
      await blocker.query("COMMIT");
    },
  };
}

export interface SlowSessionPool {
  /** One connection, its session statement_timeout left as given (1 ms, as a data runner call with a near deadline may leave it). */
  pool: pg.Pool;
  held: HeldSnapshots;
  /** Releases the snapshots (if not yet) and the blocking connection. */
  done(): Promise<void>;
}

/**
 * A pool of one connection whose statements wait until `held` is released, so that even `select 1` outlasts
 * the session's statement_timeout, `sessionTimeout` (0: none).
 */
export async function slowSessionPool(db: TestSchema, sessionTimeout = "1ms"): Promise<SlowSessionPool> {
  const pool = db.createPool({ max: 1 });
  const session = await pool.connect();
  const blocker = await db.pool.connect();
  await session.query(`SET statement_timeout = '${sessionTimeout}'`);
  const held = await holdSnapshots(session, blocker);
  session.release();
  return {
    pool,
    held,
    async done() {
      await held.release().catch(() => {});
      blocker.release();
    },
  };
}
