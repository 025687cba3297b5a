import { fileURLToPath } from "node:url";
import { create, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CreateItemRequestSchema, ItemSchema, UpdateItemRequestSchema } from "../../../../gen/mesh/data/v1/data_pb.ts";
import { migrate } from "../../../../lib/db/migrate.ts";
import { createTestSchema, type TestSchema } from "../../../../test/test-schema.ts";
import { createDependencyFaultGate } from "../faults/dependency-fault-gate.ts";
import { createFaultRegistry } from "../faults/fault-registry.ts";
import type { Call } from "./call-context.ts";
import { createDataMetrics } from "./data-metrics.ts";
import { createDbRunner } from "./db-runner.ts";
import { createItemStore, type ItemStore } from "./item-store.ts";
import { validateCreateItem, validateUpdateItem } from "./validate-item-request.ts";
import { recordStatements } from "../../../../test/record-statements.ts";

const migrationsDir = fileURLToPath(new URL("../../migrations", import.meta.url));
const limits = { maxValueBytes: 4096, maxMetadataBytes: 4096 };
let db: TestSchema;
let store: ItemStore;
/** The first words of every statement the store's pool sent, in order: each is a round trip. */
const sent: string[] = [];

beforeAll(async () => {
  db = await createTestSchema("item-store");
  await migrate(db.pool, { dir: migrationsDir, schema: db.schema });
  // One connection, so that its session state (the statement_timeout) carries from call to call.
  const pool = db.createPool({ max: 1, statementTimeoutMs: 5000 });
  recordStatements(pool, sent);
  const runner = createDbRunner(
    { pool, gate: createDependencyFaultGate(createFaultRegistry()), logger: pino({ level: "silent" }), metrics: createDataMetrics(pool) },
    { statementTimeoutMs: 5000 },
  );
  store = createItemStore(runner);
});
afterAll(() => db.drop());
beforeEach(() => {
  sent.length = 0;
});

function call(deadlineInMs?: number): Call {
  return {
    signal: new AbortController().signal,
    deadline: deadlineInMs === undefined ? undefined : Date.now() + deadlineInMs,
    procedure: "mesh.data.v1.DataService/CreateItem",
    requestId: "req-store",
    actor: "tester",
  };
}

const createInput = (name: string, key?: string) =>
  validateCreateItem(
    create(CreateItemRequestSchema, { item: { name, value: fromJson(ValueSchema, { list: [1, "two", null] }), metadata: { k: "v" } } }),
    key ?? null,
    limits,
  );

async function failure(pending: Promise<unknown>): Promise<ConnectError> {
  try {
    await pending;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

async function count(table: string, where: string, values: unknown[]): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, values);
  return rows[0]!.n;
}

describe("round trips", () => {
  it("creates an item with its idempotency key, audit row and event in one statement: one round trip", async () => {
    const key = crypto.randomUUID();
    const { item, changed } = await store.create(call(), createInput("one trip", key));
    expect(sent).toEqual(["WITH new_item AS MATERIALIZED"]);
    expect(changed).toBe(true);
    expect(await count("audit_log", "entity_id = $1 AND action = 'create' AND request_id = 'req-store' AND actor = 'tester'", [item.id])).toBe(1);
    expect(await count("outbox", "aggregate_id = $1 AND topic = 'item.created'", [item.id])).toBe(1);
    const { rows } = await db.pool.query("SELECT response FROM idempotency_keys WHERE key = $1", [`CreateItem:${key}`]);
    expect(rows[0].response).toEqual(toJson(ItemSchema, item));

    sent.length = 0;
    await store.create(call(), createInput("no key"));
    expect(sent).toEqual(["WITH new_item AS MATERIALIZED"]);
  });

  it("replays the first result, byte for byte, in one round trip", async () => {
    const key = crypto.randomUUID();
    const first = await store.create(call(), createInput("replayed", key));
    sent.length = 0;
    const again = await store.create(call(), createInput("replayed", key));
    expect(sent).toEqual(["WITH new_item AS MATERIALIZED"]);
    expect(again.changed).toBe(false);
    expect(toBinary(ItemSchema, again.item)).toEqual(toBinary(ItemSchema, first.item));
    expect(await count("items", "name = 'replayed'", [])).toBe(1);

    sent.length = 0;
    const reused = await failure(store.create(call(), createInput("another request", key)));
    expect(reused).toMatchObject({ code: Code.AlreadyExists });
    expect(sent).toHaveLength(1);
  });

  it("with a deadline, sets the connection's statement_timeout only when it changes", async () => {
    // 3009 ms rounds down to a timeout of 3000 ms while less than 10 ms pass before the statement.
    await store.create(call(3009), createInput("deadline 1"));
    expect(sent).toEqual(["SET statement_timeout = 3000", "WITH new_item AS MATERIALIZED"]);
    sent.length = 0;
    await store.create(call(3009), createInput("deadline 2"));
    expect(sent).toEqual(["WITH new_item AS MATERIALIZED"]);
    sent.length = 0;
    await store.create(call(), createInput("no deadline"));
    expect(sent).toEqual(["SET statement_timeout = 5000", "WITH new_item AS MATERIALIZED"]);
  });

  it("updates, deletes and restores in one round trip each, refusing stale versions and unknown items", async () => {
    const { item } = await store.create(call(), createInput("changed"));
    sent.length = 0;
    const update = (name: string, expectedVersion?: bigint) =>
      store.update(
        call(),
        validateUpdateItem(create(UpdateItemRequestSchema, { item: { id: item.id, name }, updateMask: { paths: ["name"] }, expectedVersion }), limits),
      );
    const updated = await update("changed again", 1n);
    expect(updated).toMatchObject({ name: "changed again", version: 2n });
    const stale = await failure(update("stale", 1n));
    expect(stale).toMatchObject({ code: Code.Aborted });
    expect(stale.rawMessage).toContain("version 2");
    const deleted = await store.remove(call(), item.id, 2n);
    expect(deleted).toMatchObject({ changed: true, item: { version: 3n } });
    expect(await store.remove(call(), item.id, 1n)).toEqual({ item: deleted.item, changed: false });
    expect((await failure(update("deleted"))).code).toBe(Code.NotFound);
    const restored = await store.restore(call(), item.id);
    expect(restored).toMatchObject({ changed: true, item: { version: 4n } });
    expect(restored.item.deleteTime).toBeUndefined();
    expect(await store.restore(call(), item.id)).toEqual({ item: restored.item, changed: false });
    expect((await failure(store.remove(call(), crypto.randomUUID(), undefined))).code).toBe(Code.NotFound);
    expect(sent).toEqual(Array.from({ length: 8 }, () => "WITH before AS ("));

    const audit = await db.pool.query("SELECT action, old_value, new_value FROM audit_log WHERE entity_id = $1 ORDER BY id", [item.id]);
    expect(audit.rows.map((r) => r.action)).toEqual(["create", "update", "delete", "undelete"]);
    expect(audit.rows[1].old_value).toEqual(toJson(ItemSchema, item));
    expect(audit.rows[1].new_value).toEqual(toJson(ItemSchema, updated));
    expect(audit.rows[3].new_value).toEqual(toJson(ItemSchema, restored.item));
    const outbox = await db.pool.query("SELECT topic, payload FROM outbox WHERE aggregate_id = $1 ORDER BY id", [item.id]);
    expect(outbox.rows.map((r) => r.topic)).toEqual(["item.created", "item.updated", "item.deleted", "item.updated"]);
    expect(outbox.rows[2].payload).toEqual({
      type: "item.deleted",
      action: "delete",
      item: toJson(ItemSchema, deleted.item),
      actor: "tester",
      requestId: "req-store",
    });
  });
});

describe("idempotency keys claimed concurrently", () => {
  it("reads the key afresh when its claim committed after the statement began", async () => {
    const key = crypto.randomUUID();
    const input = createInput("raced", key);
    const winner = (await store.create(call(), createInput("raced winner", crypto.randomUUID()))).item;
    // Another transaction holds the key, for this very request, until it commits.
    const other = await db.pool.connect();
    try {
      await other.query("BEGIN");
      await other.query("INSERT INTO idempotency_keys (key, request_hash, response) VALUES ($1, $2, $3)", [
        `CreateItem:${key}`,
        input.requestHash,
        JSON.stringify(toJson(ItemSchema, winner)),
      ]);
      sent.length = 0;
      const pending = store.create(call(), input);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await other.query("COMMIT");
      const result = await pending;
      expect(result).toEqual({ item: winner, changed: false });
      expect(sent).toEqual(["WITH new_item AS MATERIALIZED", "SELECT request_hash, response FROM"]);
    } finally {
      other.release();
    }
    expect(await count("items", "name = 'raced'", [])).toBe(0);
  });

  it("creates once when many identical requests with one key race", async () => {
    // A store of its own with eight connections, so that the eight creates really run at once.
    const pool = db.createPool({ max: 8, statementTimeoutMs: 5000 });
    const racing = createItemStore(
      createDbRunner(
        { pool, gate: createDependencyFaultGate(createFaultRegistry()), logger: pino({ level: "silent" }), metrics: createDataMetrics(pool) },
        { statementTimeoutMs: 5000 },
      ),
    );
    const key = crypto.randomUUID();
    const results = await Promise.all(Array.from({ length: 8 }, () => racing.create(call(), createInput("many", key))));
    expect(new Set(results.map((r) => r.item.id)).size).toBe(1);
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    expect(await count("items", "name = 'many'", [])).toBe(1);
  });
});
