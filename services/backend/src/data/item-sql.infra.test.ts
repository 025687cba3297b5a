import { fileURLToPath } from "node:url";
import { toJson, type JsonValue } from "@bufbuild/protobuf";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ItemSchema } from "../../../../gen/mesh/data/v1/data_pb.ts";
import { migrate } from "../../../../lib/db/migrate.ts";
import { createTestSchema, type TestSchema } from "../../../../test/test-schema.ts";
import type { Query } from "./db-runner.ts";
import { itemJson, listItemRows, selectItem } from "./item-sql.ts";
import { itemFromRow } from "./row-codec.ts";
import { listUserRows } from "./user-sql.ts";
import type { ItemOrder, StoredStatus } from "./validate-item-request.ts";

const migrationsDir = fileURLToPath(new URL("../../migrations", import.meta.url));
let db: TestSchema;

beforeAll(async () => {
  db = await createTestSchema("item-sql");
  await migrate(db.pool, { dir: migrationsDir, schema: db.schema });
  await db.pool.query(`INSERT INTO items (name, status) SELECT 'n' || g, CASE WHEN g % 3 = 0 THEN 'archived' ELSE 'active' END FROM generate_series(1, 2000) g`);
  await db.pool.query("ANALYZE items");
});
afterAll(() => db.drop());

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** A Query that plans the statement (sequential scans off) instead of running it. */
function explainInto(client: pg.PoolClient, plans: PlanNode[]): Query {
  return (async (_operation: string, text: string, values?: readonly unknown[]) => {
    const { rows } = await client.query<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${text}`, values as unknown[]);
    plans.push(rows[0]!["QUERY PLAN"][0]!.Plan);
    return { rows: [], rowCount: 0, command: "EXPLAIN", oid: 0, fields: [] };
  }) as Query;
}

describe("list queries use the 0002 indexes, without sorting", () => {
  const orders: ItemOrder[] = ["create_time", "update_time", "name"];
  const cases = orders.flatMap((order) =>
    [false, true].flatMap((descending) =>
      [undefined, "archived" as StoredStatus].flatMap((status) => [{ order, descending, status, cursor: true }, { order, descending, status, cursor: false }]),
    ),
  );

  it.each(cases)("%o", async ({ order, descending, status, cursor }) => {
    const client = await db.pool.connect();
    try {
      await client.query("SET enable_seqscan = off");
      const plans: PlanNode[] = [];
      await listItemRows(explainInto(client, plans), {
        order,
        descending,
        status,
        limit: 51,
        cursor: cursor
          ? { key: order === "name" ? "n5" : "2026-01-01T00:00:00.000000Z", id: "3f2c1a9e-5b7d-4c1e-9f3a-2b8c6d4e1f07" }
          : undefined,
      });
      const all = nodes(plans[0]!);
      expect(all.some((n) => n["Node Type"] === "Sort")).toBe(false);
      // The page comes from an index scan in the listing's order: the order's own index, or (filtered by
      // status) the status-prefixed one, whichever the planner prefers.
      const suffix = { create_time: "created", update_time: "updated", name: "name" }[order];
      const serving = [`items_live_${suffix}_idx`, order === "create_time" ? "items_live_status_idx" : `items_live_status_${suffix}_idx`];
      const scans = all.filter((n) => n["Node Type"] === "Index Scan").map((n) => n["Index Name"]);
      expect(scans.some((name) => serving.includes(name ?? "")), JSON.stringify(plans[0])).toBe(true);
    } finally {
      await client.query("RESET enable_seqscan");
      client.release();
    }
  });

  it("lists users newest first from users_created_at_id_idx", async () => {
    const client = await db.pool.connect();
    try {
      await client.query("SET enable_seqscan = off");
      const plans: PlanNode[] = [];
      await listUserRows(explainInto(client, plans), { key: "2026-01-01T00:00:00.000000Z", id: "3f2c1a9e-5b7d-4c1e-9f3a-2b8c6d4e1f07" }, 51);
      const all = nodes(plans[0]!);
      expect(all.some((n) => n["Node Type"] === "Sort")).toBe(false);
      expect(all.map((n) => n["Index Name"])).toContain("users_created_at_id_idx");
    } finally {
      await client.query("RESET enable_seqscan");
      client.release();
    }
  });
});

describe("itemJson", () => {
  const query: Query = ((_operation: string, text: string, values?: readonly unknown[]) => db.pool.query(text, values as unknown[])) as Query;

  // Timestamps with no fraction, milliseconds and microseconds; every kind of value; each status; deleted.
  it.each([
    ["whole seconds", null, "{}", "active", "2026-03-04 05:06:07+00", null],
    ["milliseconds", "null", `{"a":{"b":[1,2.5,"x"]}}`, "archived", "2026-03-04 05:06:07.12+00", null],
    ["microseconds", `"text"`, `{"n":1e21,"s":"ünï \\"q\\" 😀"}`, "active", "2026-03-04 05:06:07.000123+00", "2026-03-05 00:00:00.5+00"],
    ["a list and a deletion", "[true,false,null,0,-1.5]", "{}", "archived", "1999-12-31 23:59:59.999999+00", "2000-01-01 00:00:00.01+00"],
  ])("writes %s as toJson(ItemSchema) does", async (_label, value, metadata, status, createdAt, deletedAt) => {
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO items (name, value, metadata, status, version, created_at, updated_at, deleted_at)
       VALUES ('json ' || gen_random_uuid(), $1::jsonb, $2::jsonb, $3, 7, $4::timestamptz, $4::timestamptz + interval '1.001 s', $5)
       RETURNING id`,
      [value, metadata, status, createdAt, deletedAt],
    );
    const id = rows[0]!.id;
    const item = itemFromRow((await selectItem(query, id))!);
    const json = await db.pool.query<{ json: JsonValue; text: string }>(`SELECT ${itemJson("items")} AS json, ${itemJson("items")}::text AS text FROM items WHERE id = $1`, [id]);
    expect(json.rows[0]!.json).toEqual(toJson(ItemSchema, item));
    // Equal as jsonb too, where number and key order do not matter but every string does.
    const same = await db.pool.query<{ same: boolean }>("SELECT $1::jsonb = $2::jsonb AS same", [json.rows[0]!.text, JSON.stringify(toJson(ItemSchema, item))]);
    expect(same.rows[0]!.same).toBe(true);
  });
});
