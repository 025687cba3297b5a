import type { JsonValue } from "@bufbuild/protobuf";
import { changeParameters, changeRecordCtes, type ChangeContext } from "./change-log-sql.ts";
import type { Query } from "./db-runner.ts";
import { jsonTime } from "./json-time-sql.ts";
import { claimKeyCte, keyParameters, visibleRecordQuery, type IdempotencyRecord, type KeyedRequest } from "./idempotency-sql.ts";
import type { PageCursor } from "./page-token.ts";
import type { ItemFields, ItemOrder, MutablePath, StoredStatus } from "./validate-item-request.ts";

/** An items row as the queries below return it: JSON and timestamps as text, so nothing is lost. */
export interface ItemRow {
  id: string;
  name: string;
  /** JSON text, or null when the item has no value (SQL NULL, unlike a JSON `null`). */
  value: string | null;
  metadata: string;
  status: StoredStatus;
  version: string;
  /** `YYYY-MM-DDTHH:MM:SS.ffffffZ`: microseconds, as stored, for exact keyset cursors. */
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

const utc = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const columns = `id, name, value::text AS value, metadata::text AS metadata, status, version::text AS version,
  ${utc("created_at")} AS created_at, ${utc("updated_at")} AS updated_at, ${utc("deleted_at")} AS deleted_at`;

const selectItemSql = `SELECT ${columns} FROM items WHERE id = $1`;

/** The row, live or deleted. */
export async function selectItem(query: Query, id: string): Promise<ItemRow | undefined> {
  const { rows } = await query<ItemRow>("item.select", selectItemSql, [id]);
  return rows[0];
}

/**
 * The item in `row` (a relation with the items columns) as the API's JSON, as `toJson(ItemSchema, item)`
 * writes it (item-sql.infra.test.ts holds the two together): for the audit rows, outbox events and
 * idempotent responses that a statement writes beside the item.
 */
export function itemJson(row: string): string {
  return `(jsonb_build_object(
       'id', ${row}.id, 'name', ${row}.name, 'metadata', ${row}.metadata,
       'status', CASE ${row}.status WHEN 'active' THEN 'ITEM_STATUS_ACTIVE' WHEN 'archived' THEN 'ITEM_STATUS_ARCHIVED' END,
       'version', ${row}.version::text,
       'createTime', ${jsonTime(`${row}.created_at`)},
       'updateTime', ${jsonTime(`${row}.updated_at`)})
     || CASE WHEN ${row}.value IS NULL THEN '{}' ELSE jsonb_build_object('value', ${row}.value) END
     || CASE WHEN ${row}.deleted_at IS NULL THEN '{}' ELSE jsonb_build_object('deleteTime', ${jsonTime(`${row}.deleted_at`)}) END)`;
}

/**
 * insertItem's statement, built once, as every prepared (writeStatement) text here: the same string on every call,
 * so that the runner finds its prepared name without flattening and hashing kilobytes of fresh text per call.
 * The id is drawn here rather than by the column's default: the claim records the response before the row
 * exists. MATERIALIZED: one id for every reference.
 */
const insertItemSql = `WITH new_item AS MATERIALIZED (
       SELECT gen_random_uuid() AS id, $1::text AS name, $2::jsonb AS value, $3::jsonb AS metadata, $4::text AS status,
              1::bigint AS version, now() AS created_at, now() AS updated_at, NULL::timestamptz AS deleted_at
     ),
     ${claimKeyCte("new_item", itemJson("new_item"), 5)},
     inserted AS (
       INSERT INTO items (id, name, value, metadata, status, version, created_at, updated_at)
       SELECT id, name, value, metadata, status, version, created_at, updated_at FROM new_item
        WHERE $5::text IS NULL OR EXISTS (SELECT FROM claim)
       RETURNING ${columns}
     ),
     changed AS (
       SELECT id AS entity_id, NULL::jsonb AS old_value, ${itemJson("new_item")} AS new_value
         FROM new_item WHERE EXISTS (SELECT FROM inserted)
     ),
     ${changeRecordCtes("item", "changed", 8)}
     SELECT inserted.*, taken.request_hash, taken.response
       FROM (SELECT) AS result
       LEFT JOIN inserted ON true
       LEFT JOIN (${visibleRecordQuery(5)}) AS taken ON NOT EXISTS (SELECT FROM claim)`;

/** What a create found: its row, or the idempotency key's record when another request had claimed the key. */
export type CreateOutcome =
  | { readonly created: ItemRow }
  /** Undefined when the claim committed after this statement began: read it afresh. */
  | { readonly created: undefined; readonly claimedBy: IdempotencyRecord | undefined };

/**
 * Creates the item with its audit row and `item.created` event in one statement, claiming the idempotency
 * key first when there is one: a key that another request holds writes nothing and returns its record.
 * The key records the response (the item's JSON) in the same statement, so a replay never finds it empty.
 */
export async function insertItem(
  query: Query,
  fields: ItemFields,
  keyed: KeyedRequest | undefined,
  change: ChangeContext,
): Promise<CreateOutcome> {
  // One row: the item's columns are all NULL when nothing was inserted, the record's when none is visible.
  const { rows } = await query<{ [K in keyof ItemRow]: ItemRow[K] | null } & { request_hash: string | null; response: JsonValue | null }>(
    "item.insert",
    insertItemSql,
    [fields.name, fields.valueJson ?? null, fields.metadataJson, fields.status, ...keyParameters(keyed), ...changeParameters(change)],
  );
  const { request_hash: requestHash, response, ...item } = rows[0]!;
  if (item.id !== null) return { created: item as ItemRow };
  return { created: undefined, claimedBy: requestHash === null ? undefined : { requestHash, response } };
}

/** An item write's rows: `before` when the id exists, `after` when the write's condition held and it wrote. */
export interface ItemRowChange {
  readonly before: ItemRow | undefined;
  readonly after: ItemRow | undefined;
}

/**
 * One statement that locks the row (so the version check and the audit's old value are exact), changes it
 * when `condition` (over `before`, the locked row) holds, bumping its version, and records the change; the
 * change's context takes the five parameters from `changeFirst` on, after the statement's own values.
 */
function changeItemSql(set: string, condition: string, changeFirst: number): string {
  return `WITH before AS (
       SELECT * FROM items WHERE id = $1 FOR UPDATE
     ),
     after AS (
       UPDATE items SET ${set}, version = items.version + 1, updated_at = greatest(now(), items.updated_at)
         FROM before
        WHERE items.id = before.id AND ${condition}
       RETURNING items.*
     ),
     changed AS (
       SELECT after.id AS entity_id, ${itemJson("before")} AS old_value, ${itemJson("after")} AS new_value FROM before, after
     ),
     ${changeRecordCtes("item", "changed", changeFirst)}
     SELECT 'before' AS state, ${columns} FROM before
     UNION ALL
     SELECT 'after' AS state, ${columns} FROM after`;
}

async function changeItem(query: Query, operation: string, text: string, values: readonly unknown[], change: ChangeContext): Promise<ItemRowChange> {
  const { rows } = await query<ItemRow & { state: "before" | "after" }>(operation, text, [...values, ...changeParameters(change)]);
  const row = (state: string) => {
    const found = rows.find((r) => r.state === state);
    if (found === undefined) return undefined;
    const { state: _, ...item } = found;
    return item;
  };
  return { before: row("before"), after: row("after") };
}

/** A live item that is not at `expectedVersion` (when given) is left alone. */
const liveAtVersion = (parameter: string) => `before.deleted_at IS NULL AND (${parameter}::bigint IS NULL OR before.version = ${parameter}::bigint)`;

const updateItemSql = changeItemSql(
  `name = CASE WHEN $2 THEN $3 ELSE items.name END,
       value = CASE WHEN $4 THEN $5::jsonb ELSE items.value END,
       metadata = CASE WHEN $6 THEN $7::jsonb ELSE items.metadata END,
       status = CASE WHEN $8 THEN $9 ELSE items.status END`,
  liveAtVersion("$10"),
  11,
);
const softDeleteItemSql = changeItemSql("deleted_at = greatest(now(), items.created_at)", liveAtVersion("$2"), 3);
const undeleteItemSql = changeItemSql("deleted_at = NULL", "before.deleted_at IS NOT NULL", 2);

/**
 * Writes the fields named in `paths` (one static statement: a flag per field) of a live item at
 * `expectedVersion` (when given), with the change's audit row and event.
 */
export function updateItemFields(
  query: Query,
  id: string,
  paths: ReadonlySet<MutablePath>,
  changes: Partial<ItemFields>,
  expectedVersion: bigint | undefined,
  change: ChangeContext,
): Promise<ItemRowChange> {
  return changeItem(
    query,
    "item.update",
    updateItemSql,
    [
      id,
      paths.has("name"),
      changes.name ?? null,
      paths.has("value"),
      changes.valueJson ?? null,
      paths.has("metadata"),
      changes.metadataJson ?? null,
      paths.has("status"),
      changes.status ?? null,
      expectedVersion?.toString() ?? null,
    ],
    change,
  );
}

/** Soft-deletes a live item at `expectedVersion` (when given), with the change's audit row and event. */
export function softDeleteItem(query: Query, id: string, expectedVersion: bigint | undefined, change: ChangeContext): Promise<ItemRowChange> {
  return changeItem(query, "item.soft_delete", softDeleteItemSql, [id, expectedVersion?.toString() ?? null], change);
}

/** Restores a deleted item, with the change's audit row and event. */
export function undeleteItem(query: Query, id: string, change: ChangeContext): Promise<ItemRowChange> {
  return changeItem(query, "item.undelete", undeleteItemSql, [id], change);
}

export interface ItemPageQuery {
  readonly status: StoredStatus | undefined;
  readonly order: ItemOrder;
  readonly descending: boolean;
  readonly cursor: PageCursor | undefined;
  /** Rows to fetch: the page size plus one, to learn whether another page follows. */
  readonly limit: number;
}

/**
 * The sort expression of each order; names compare byte-wise whatever the database's collation. Qualified
 * with the table: a bare `created_at` in ORDER BY would name the output column (its text form) and sort
 * without the index.
 */
const sortColumns: Record<ItemOrder, { expression: string; cursorType: string; keyColumn: keyof ItemRow }> = {
  create_time: { expression: "items.created_at", cursorType: "timestamptz", keyColumn: "created_at" },
  update_time: { expression: "items.updated_at", cursorType: "timestamptz", keyColumn: "updated_at" },
  name: { expression: `items.name COLLATE "C"`, cursorType: `text COLLATE "C"`, keyColumn: "name" },
};

/** The cursor after `row` in `order`. */
export function cursorAfter(row: ItemRow, order: ItemOrder): PageCursor {
  return { key: row[sortColumns[order].keyColumn] as string, id: row.id };
}

/**
 * One keyset page of live items and the total of live items matching the filter, in one statement (one
 * snapshot): the page starts strictly after the cursor in (sort key, id) order, so rows inserted meanwhile
 * can neither repeat nor push others out. Served by the partial indexes of 0002.
 */
export async function listItemRows(query: Query, page: ItemPageQuery): Promise<{ rows: ItemRow[]; total: bigint }> {
  const sort = sortColumns[page.order];
  const direction = page.descending ? "DESC" : "ASC";
  const values: unknown[] = [page.limit];
  const where = ["deleted_at IS NULL"];
  if (page.status !== undefined) {
    values.push(page.status);
    where.push(`status = $${values.length}`);
  }
  const filter = where.join(" AND ");
  const keyset = [...where];
  if (page.cursor !== undefined) {
    values.push(page.cursor.key, page.cursor.id);
    const comparison = page.descending ? "<" : ">";
    keyset.push(`(${sort.expression}, id) ${comparison} ($${values.length - 1}::${sort.cursorType}, $${values.length}::uuid)`);
  }
  const { rows } = await query<ItemRow & { total: string; present: boolean }>(
    `item.list_by_${page.order}`,
    `SELECT t.total::text AS total, p.id IS NOT NULL AS present, p.*
       FROM (SELECT count(*) AS total FROM items WHERE ${filter}) t
       LEFT JOIN LATERAL (
         SELECT ${columns} FROM items
          WHERE ${keyset.join(" AND ")}
          ORDER BY ${sort.expression} ${direction}, items.id ${direction}
          LIMIT $1
       ) p ON true`,
    values,
  );
  const total = BigInt(rows[0]?.total ?? "0");
  return { rows: rows.filter((row) => row.present), total };
}
