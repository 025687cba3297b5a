import { Writable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultSchema } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { toConnectError } from "../../../../lib/errors/connect-errors.ts";
import { holdSnapshots } from "../../../../test/hold-snapshots.ts";
import { createTestSchema, type TestSchema } from "../../../../test/test-schema.ts";
import { createDependencyFaultGate } from "../faults/dependency-fault-gate.ts";
import { createFaultRegistry } from "../faults/fault-registry.ts";
import type { Call } from "./call-context.ts";
import { createDataMetrics } from "./data-metrics.ts";
import { createDbRunner, type DbRunner, type Query } from "./db-runner.ts";

let db: TestSchema;
const logs: Array<Record<string, unknown>> = [];
const logger = pino(
  { level: "debug" },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line !== "") logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  }),
);
const faults = createFaultRegistry();
let draws: number[] = [];
const gate = createDependencyFaultGate(faults, { random: () => draws.shift() ?? 0.99 });
let runner: DbRunner;
let metrics: ReturnType<typeof createDataMetrics>;

function call(deadlineInMs?: number, signal = new AbortController().signal): Call {
  return {
    signal,
    deadline: deadlineInMs === undefined ? undefined : Date.now() + deadlineInMs,
    procedure: "mesh.data.v1.DataService/GetItem",
    requestId: null,
    actor: "test",
  };
}

beforeAll(async () => {
  db = await createTestSchema("db-runner");
  await db.pool.query("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)");
  await db.pool.query("INSERT INTO counter VALUES (1, 0)");
  const pool = db.createPool({ max: 2 });
  metrics = createDataMetrics(pool);
  runner = createDbRunner({ pool, gate, logger, metrics }, { statementTimeoutMs: 5000, slowQueryMs: 100, retries: 3, retryBaseMs: 1 });
});
afterAll(async () => {
  faults.close();
  await db.drop();
});

async function retries(operation: string): Promise<number> {
  const { values } = await metrics.dbRetries.get();
  return values.find((v) => v.labels.operation === operation)?.value ?? 0;
}

describe("statement_timeout", () => {
  it.each([
    ["no deadline: the configured bound", undefined, 5000, 5000],
    ["a long deadline: still the configured bound", 60_000, 5000, 5000],
    ["a short deadline: what remains of it", 1500, 1000, 1500],
  ])("for %s", async (_label, deadline, atLeast, atMost) => {
    const show = (q: Query) => q<{ t: string }>("show", "SELECT current_setting('statement_timeout') AS t");
    const read = await runner.read(call(deadline), "show", show);
    const write = await runner.write(call(deadline), "show", show);
    const statement = await runner.writeStatement(call(deadline), "show", show);
    for (const { rows } of [read, write, statement]) {
      const ms = rows[0]!.t.endsWith("ms") ? Number.parseInt(rows[0]!.t) : Number.parseInt(rows[0]!.t) * 1000;
      expect(ms).toBeGreaterThanOrEqual(atLeast);
      expect(ms).toBeLessThanOrEqual(atMost);
    }
  });

  it("cancels a statement that would outlive the call's deadline", async () => {
    const failure = await runner.read(call(300), "sleep", (q) => q("sleep", "SELECT pg_sleep(3)")).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: "57014" });
  });

  it("refuses to start once the deadline has passed", async () => {
    const failure = await runner.read(call(-1), "late", (q) => q("late", "SELECT 1")).catch((e: unknown) => e);
    expect(ConnectError.from(failure).code).toBe(Code.DeadlineExceeded);
  });
});

describe("cancellation", () => {
  it("stops waiting for a statement when the call is cancelled, and rolls its transaction back", async () => {
    const controller = new AbortController();
    const pending = runner
      .write(call(undefined, controller.signal), "cancelled", async (q) => {
        await q("bump", "UPDATE counter SET n = n + 100 WHERE id = 1");
        await q("sleep", "SELECT pg_sleep(2)");
      })
      .catch((e: unknown) => e);
    setTimeout(() => controller.abort(new ConnectError("cancelled", Code.Canceled)), 100);
    expect(ConnectError.from(await pending).code).toBe(Code.Canceled);
    // The statement is cancelled on the server too: its row lock is gone, not held until pg_sleep ends.
    const client = await db.pool.connect();
    try {
      await client.query("BEGIN; SET LOCAL lock_timeout = '1s'");
      const { rows } = await client.query("SELECT n FROM counter WHERE id = 1 FOR UPDATE");
      expect(rows[0].n).toBe(0);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });
});

describe("single-statement writes", () => {
  const counter = async () => (await db.pool.query<{ n: number }>("SELECT n FROM counter WHERE id = 1")).rows[0]!.n;

  it("commit by themselves", async () => {
    const before = await counter();
    await runner.writeStatement(call(), "bump", (q) => q("bump", "UPDATE counter SET n = n + 1 WHERE id = 1"));
    expect(await counter()).toBe(before + 1);
    await runner.writeStatement(call(), "bump", (q) => q("bump", "UPDATE counter SET n = n - 1 WHERE id = 1"));
  });

  it("refuse a second statement", async () => {
    const failure = await runner
      .writeStatement(call(), "two", async (q) => {
        await q("one", "SELECT 1");
        await q("two", "SELECT 2");
      })
      .catch((e: unknown) => e);
    expect(String(failure)).toContain("single-statement write");
  });

  it("ask the server to stop the statement of a cancelled call, and report that it did not commit", async () => {
    const before = await counter();
    const controller = new AbortController();
    const started = Date.now();
    const pending = runner
      .writeStatement(call(undefined, controller.signal), "cancelled", (q) =>
        q("bump_slowly", "WITH bump AS (UPDATE counter SET n = n + 100 WHERE id = 1 RETURNING n) SELECT pg_sleep(3), n FROM bump"),
      )
      .catch((e: unknown) => e);
    setTimeout(() => controller.abort(new ConnectError("cancelled", Code.Canceled)), 100);
    expect(ConnectError.from(await pending).code).toBe(Code.Canceled);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(await counter()).toBe(before);
  });

  it("reach the server to stop a cancelled statement even when the cancelling connection's session timeout is tiny", async () => {
    const pool = db.createPool({ max: 2 });
    const cancelling = createDbRunner({ pool, gate, logger, metrics: createDataMetrics(pool) }, { retries: 1 });
    // pg's pool hands out the connection released last: the statement runs on `working`, the cancel on `idle`,
    // whose session statement_timeout (1 ms) even the cancel outlasts until the snapshots are released.
    const idle = await pool.connect();
    const working = await pool.connect();
    const blocker = await db.pool.connect();
    await idle.query("SET statement_timeout = 1");
    const held = await holdSnapshots(idle, blocker);
    idle.release();
    working.release();
    try {
      const before = await counter();
      const controller = new AbortController();
      const started = Date.now();
      const pending = cancelling
        .writeStatement(call(undefined, controller.signal), "cancelled", (q) =>
          q("bump_slowly", "WITH bump AS (UPDATE counter SET n = n + 100 WHERE id = 1 RETURNING n) SELECT pg_sleep(3), n FROM bump"),
        )
        .catch((e: unknown) => e);
      setTimeout(() => controller.abort(new ConnectError("cancelled", Code.Canceled)), 100);
      setTimeout(() => void held.release(), 300);
      expect(ConnectError.from(await pending).code).toBe(Code.Canceled);
      expect(Date.now() - started).toBeLessThan(2500);
      expect(await counter()).toBe(before);
      // The abandoned connection was closed; `idle` is left with its session value.
      const { rows } = await pool.query("SHOW statement_timeout");
      expect(rows).toEqual([{ statement_timeout: "1ms" }]);
    } finally {
      await held.release().catch(() => {});
      blocker.release();
    }
  });

  it("are not run again when the connection fails after the statement was sent: it may have committed", async () => {
    let attempts = 0;
    const pending = runner
      .writeStatement(call(), "terminated", (q) => {
        attempts++;
        return q("sleep", "SELECT pg_sleep(3) AS terminated_here");
      })
      .catch((e: unknown) => e);
    // The server ends the session while the statement runs, as a restart or a failover would.
    for (let terminated = 0; terminated === 0; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const { rowCount } = await db.pool.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%AS terminated_here%' AND pid <> pg_backend_pid()",
      );
      terminated = rowCount ?? 0;
    }
    const failure = await pending;
    expect(attempts).toBe(1);
    expect(failure).toMatchObject({ code: "57P01" });
  });

  it("are run again after a conflict PostgreSQL rolled back", async () => {
    let attempts = 0;
    await runner.writeStatement(call(), "conflicted", async (q) => {
      if (attempts++ === 0) throw Object.assign(new Error("could not serialize access"), { code: "40001" });
      await q("one", "SELECT 1");
    });
    expect(attempts).toBe(2);
  });
});

describe("slow queries", () => {
  it("logs statements slower than the threshold, naming the operation", async () => {
    await runner.read(call(), "slow", (q) => q("report.slow_one", "SELECT pg_sleep(0.15)"));
    await runner.read(call(), "fast", (q) => q("report.fast_one", "SELECT 1"));
    const slow = logs.filter((l) => l.msg === "slow query");
    expect(slow.map((l) => l.operation)).toContain("report.slow_one");
    expect(slow.map((l) => l.operation)).not.toContain("report.fast_one");
  });
});

describe("overload", () => {
  it("refuses work beyond the pool and its queue with ResourceExhausted instead of piling it up", async () => {
    const narrow = createDbRunner({ pool: db.createPool({ max: 1 }), gate, logger, metrics }, { concurrency: 1, queueLimit: 1 });
    const results = await Promise.allSettled(
      Array.from({ length: 3 }, () => narrow.read(call(), "busy", (q) => q("sleep", "SELECT pg_sleep(0.2)"))),
    );
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    expect(toConnectError((results[2] as PromiseRejectedResult).reason).code).toBe(Code.ResourceExhausted);
  });
});

describe("retries", () => {
  it("retries a read whose connection failed, with backoff, until it succeeds", async () => {
    faults.inject(create(FaultSchema, { spec: { case: "database", value: { failureRate: 0.5 } }, duration: durationFromMs(60_000) }));
    try {
      draws = [0.1, 0.1]; // the first two statements fail, then all pass
      const before = await retries("flaky.read");
      const { rows } = await runner.read(call(), "flaky.read", (q) => q<{ one: number }>("one", "SELECT 1 AS one"));
      expect(rows).toEqual([{ one: 1 }]);
      expect((await retries("flaky.read")) - before).toBe(2);
    } finally {
      faults.clearAll();
    }
  });

  it("runs a write transaction again after a rolled-back conflict, committing it once", async () => {
    let attempts = 0;
    await runner.write(call(), "conflicted", async (q) => {
      await q("bump", "UPDATE counter SET n = n + 1 WHERE id = 1");
      if (attempts++ === 0) throw Object.assign(new Error("could not serialize access"), { code: "40001" });
    });
    expect(attempts).toBe(2);
    const { rows } = await db.pool.query("SELECT n FROM counter WHERE id = 1");
    expect(rows[0].n).toBe(1);
  });

  it("does not retry a write that failed for a reason of its own", async () => {
    let attempts = 0;
    const failure = await runner
      .write(call(), "duplicate", async (q) => {
        attempts++;
        await q("dup", "INSERT INTO counter VALUES (1, 0)");
      })
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: "23505" });
    expect(attempts).toBe(1);
  });
});
