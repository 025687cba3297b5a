import type { Query } from "./db-runner.ts";
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

/** The row, live or deleted. */
export async function selectItem(query: Query, id: string, forUpdate = false): Promise<ItemRow | undefined> {
  const { rows } = await query<ItemRow>(
    forUpdate ? "item.select_for_update" : "item.select",
    `SELECT ${columns} FROM items WHERE id = $1${forUpdate ? " FOR UPDATE" : ""}`,
    [id],
  );
  return rows[0];
}

export async function insertItem(query: Query, fields: ItemFields): Promise<ItemRow> {
  const { rows } = await query<ItemRow>(
    "item.insert",
    `INSERT INTO items (name, value, metadata, status) VALUES ($1, $2::jsonb, $3::jsonb, $4) RETURNING ${columns}`,
    [fields.name, fields.valueJson ?? null, fields.metadataJson, fields.status],
  );
  return rows[0]!;
}

/** Writes the fields named in `paths` (one static statement: a flag per field), bumps the version. */
export async function updateItemFields(
  query: Query,
  id: string,
  paths: ReadonlySet<MutablePath>,
  changes: Partial<ItemFields>,
): Promise<ItemRow> {
  const { rows } = await query<ItemRow>(
    "item.update",
    `UPDATE items SET
       name = CASE WHEN $2 THEN $3 ELSE name END,
       value = CASE WHEN $4 THEN $5::jsonb ELSE value END,
       metadata = CASE WHEN $6 THEN $7::jsonb ELSE metadata END,
       status = CASE WHEN $8 THEN $9 ELSE status END,
       version = version + 1,
       updated_at = greatest(now(), updated_at)
     WHERE id = $1
     RETURNING ${columns}`,
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
    ],
  );
  return rows[0]!;
}

/** Soft delete (`deleted` true) or restore; bumps the version. */
export async function setItemDeleted(query: Query, id: string, deleted: boolean): Promise<ItemRow> {
  const { rows } = await query<ItemRow>(
    deleted ? "item.soft_delete" : "item.undelete",
    `UPDATE items SET
       deleted_at = ${deleted ? "greatest(now(), created_at)" : "NULL"},
       version = version + 1,
       updated_at = greatest(now(), updated_at)
     WHERE id = $1
     RETURNING ${columns}`,
    [id],
  );
  return rows[0]!;
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
