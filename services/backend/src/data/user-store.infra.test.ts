import { fileURLToPath } from "node:url";
import { toJson, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ROOT_CONTEXT, context, trace } from "@opentelemetry/api";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UserSchema } from "../../../../gen/mesh/data/v1/data_pb.ts";
import { migrate } from "../../../../lib/db/migrate.ts";
import { startTelemetry, type Telemetry } from "../../../../lib/telemetry/start-telemetry.ts";
import { createTestSchema, type TestSchema } from "../../../../test/test-schema.ts";
import { createDependencyFaultGate } from "../faults/dependency-fault-gate.ts";
import { createFaultRegistry } from "../faults/fault-registry.ts";
import type { Call } from "./call-context.ts";
import { createDataMetrics } from "./data-metrics.ts";
import { createDbRunner, type Query } from "./db-runner.ts";
import { userFromRow } from "./row-codec.ts";
import { selectUser, userJson } from "./user-sql.ts";
import { createUserStore, type UserStore } from "./user-store.ts";
import { recordStatements } from "../../../../test/record-statements.ts";

const migrationsDir = fileURLToPath(new URL("../../migrations", import.meta.url));
let db: TestSchema;
let telemetry: Telemetry;
let store: UserStore;
/** The first words of every statement the store's pool sent, in order: each is a round trip. */
const sent: string[] = [];

beforeAll(async () => {
  // Context propagation only (no exporter), so that an active trace reaches the outbox event.
  telemetry = await startTelemetry({ serviceName: "user-store-test", instanceId: "test", version: "0", ratio: 1 });
  db = await createTestSchema("user-store");
  await migrate(db.pool, { dir: migrationsDir, schema: db.schema });
  // One connection, so that its session state (the statement_timeout) carries from call to call.
  const pool = db.createPool({ max: 1, statementTimeoutMs: 5000 });
  recordStatements(pool, sent);
  const runner = createDbRunner(
    { pool, gate: createDependencyFaultGate(createFaultRegistry()), logger: pino({ level: "silent" }), metrics: createDataMetrics(pool) },
    { statementTimeoutMs: 5000, retryBaseMs: 1 },
  );
  store = createUserStore(runner);
  // The connection's first statement sets nothing more: later calls count only their own round trips.
  await store.find(call(), crypto.randomUUID());
});
afterAll(async () => {
  await db?.drop();
  await telemetry?.shutdown();
});
beforeEach(() => {
  sent.length = 0;
});

function call(requestId: string | null = "req-user"): Call {
  return { signal: new AbortController().signal, deadline: undefined, procedure: "mesh.data.v1.DataService/CreateUser", requestId, actor: "tester" };
}

async function failure(pending: Promise<unknown>): Promise<unknown> {
  try {
    await pending;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

async function count(table: string, where = "true", values: unknown[] = []): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, values);
  return rows[0]!.n;
}

const insertStatement = "WITH new_user AS (";

describe("create", () => {
  it("writes the user, its audit row and its user.created event in one statement: one round trip", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const spanId = "00f067aa0ba902b7";
    const traced = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: 1 });
    const user = await context.with(traced, () => store.create(call(), "Ada@Example.com", "Ada Lovelace"));
    expect(sent).toEqual([insertStatement]);
    expect(user).toMatchObject({ email: "Ada@Example.com", name: "Ada Lovelace" });
    expect(await store.find(call(), user.id)).toEqual(user);

    const json = toJson(UserSchema, user);
    const audit = await db.pool.query("SELECT entity, action, old_value, new_value, request_id, actor FROM audit_log WHERE entity_id = $1", [user.id]);
    expect(audit.rows).toEqual([{ entity: "user", action: "create", old_value: null, new_value: json, request_id: "req-user", actor: "tester" }]);
    const outbox = await db.pool.query("SELECT topic, payload, trace_context, relayed_at FROM outbox WHERE aggregate_id = $1", [user.id]);
    expect(outbox.rows).toEqual([
      {
        topic: "user.created",
        payload: { type: "user.created", action: "create", user: json, actor: "tester", requestId: "req-user" },
        trace_context: { traceparent: `00-${traceId}-${spanId}-01` },
        relayed_at: null,
      },
    ]);
  });

  it("records a null request id and no trace context when there are none", async () => {
    const user = await store.create(call(null), "grace@example.com", "Grace Hopper");
    expect(sent).toEqual([insertStatement]);
    const audit = await db.pool.query("SELECT request_id, new_value FROM audit_log WHERE entity_id = $1", [user.id]);
    expect(audit.rows).toEqual([{ request_id: null, new_value: toJson(UserSchema, user) }]);
    const outbox = await db.pool.query("SELECT payload, trace_context FROM outbox WHERE aggregate_id = $1", [user.id]);
    expect(outbox.rows).toEqual([
      { payload: { type: "user.created", action: "create", user: toJson(UserSchema, user), actor: "tester", requestId: null }, trace_context: null },
    ]);
  });

  it("refuses an email taken in another letter case with AlreadyExists, in one round trip that writes nothing", async () => {
    await store.create(call(), "Taken@Example.com", "First");
    const before = { users: await count("users"), audit: await count("audit_log"), outbox: await count("outbox") };
    sent.length = 0;
    const err = ConnectError.from(await failure(store.create(call(), "tAKEN@example.COM", "Second")));
    expect(err.code).toBe(Code.AlreadyExists);
    expect(err.rawMessage).toBe(`a user with email "tAKEN@example.COM" already exists (emails are compared ignoring case)`);
    expect(sent).toEqual([insertStatement]);
    expect({ users: await count("users"), audit: await count("audit_log"), outbox: await count("outbox") }).toEqual(before);
    expect(await count("users", "name = 'Second'")).toBe(0);
  });

  it("does not run a create again when its connection is lost after the statement was sent", async () => {
    // Another transaction inserts the same email and holds it, so the store's statement waits on the index.
    const other = await db.pool.connect();
    try {
      await other.query("BEGIN");
      await other.query("INSERT INTO users (email, name) VALUES ('lost@example.com', 'Other')");
      const pending = store.create(call(), "lost@example.com", "Lost");
      pending.catch(() => {});
      let pid: number | undefined;
      for (let tries = 0; pid === undefined && tries < 100; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const { rows } = await db.pool.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH new_user AS%' AND pid <> pg_backend_pid()",
        );
        pid = rows[0]?.pid;
      }
      expect(pid).toBeDefined();
      await db.pool.query("SELECT pg_terminate_backend($1)", [pid]);
      // A retry would wait on the same index again: give it time to start before the other transaction ends.
      const settled = await Promise.race([pending.then(() => "created", () => "failed"), new Promise((resolve) => setTimeout(resolve, 500, "waiting"))]);
      await other.query("ROLLBACK");
      expect(settled).toBe("failed");
      expect((await failure(pending)) as { code?: string }).toMatchObject({ code: "57P01" });
    } finally {
      other.release();
    }
    expect(sent.filter((text) => text === insertStatement)).toHaveLength(1);
    expect(await count("users", "email = 'lost@example.com'")).toBe(0);
  });
});

describe("userJson", () => {
  const query: Query = ((_operation: string, text: string, values?: readonly unknown[]) => db.pool.query(text, values as unknown[])) as Query;

  // Timestamps with no fraction, milliseconds and microseconds; names and emails that JSON must escape.
  it.each([
    ["whole seconds", "a@example.com", "Plain", "2026-03-04 05:06:07+00"],
    ["milliseconds", "b.\"quoted\"@example.com", "Tab\tand \\ back", "2026-03-04 05:06:07.12+00"],
    ["microseconds", "ünï@example.com", "ünï 😀 \u2028", "2026-03-04 05:06:07.000123+00"],
    ["the last microsecond", "d@example.com", "Late", "1999-12-31 23:59:59.999999+00"],
  ])("writes %s as toJson(UserSchema) does", async (_label, email, name, createdAt) => {
    const { rows } = await db.pool.query<{ id: string }>("INSERT INTO users (email, name, created_at) VALUES ($1, $2, $3::timestamptz) RETURNING id", [
      email,
      name,
      createdAt,
    ]);
    const id = rows[0]!.id;
    const user = userFromRow((await selectUser(query, id))!);
    const json = await db.pool.query<{ json: JsonValue; text: string }>(`SELECT ${userJson("users")} AS json, ${userJson("users")}::text AS text FROM users WHERE id = $1`, [id]);
    expect(json.rows[0]!.json).toEqual(toJson(UserSchema, user));
    const same = await db.pool.query<{ same: boolean }>("SELECT $1::jsonb = $2::jsonb AS same", [json.rows[0]!.text, JSON.stringify(toJson(UserSchema, user))]);
    expect(same.rows[0]!.same).toBe(true);
  });
});
