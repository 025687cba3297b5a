import { fileURLToPath } from "node:url";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../../../lib/db/migrate.ts";
import { createTestSchema, type TestSchema } from "../../../../test/test-schema.ts";
import type { Query } from "./db-runner.ts";
import { listItemRows } from "./item-sql.ts";
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
