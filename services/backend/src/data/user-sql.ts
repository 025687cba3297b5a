import { changeParameters, changeRecordCtes, type ChangeContext } from "./change-log-sql.ts";
import type { Query } from "./db-runner.ts";
import { jsonTime } from "./json-time-sql.ts";
import type { PageCursor } from "./page-token.ts";

export interface UserRow {
  id: string;
  email: string;
  name: string;
  /** `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
  created_at: string;
}

const columns = `id, email, name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at`;

/**
 * The user in `row` (a relation with the users columns) as the API's JSON, as `toJson(UserSchema, user)`
 * writes it (user-store.infra.test.ts holds the two together). Every field is present: the table's checks
 * keep email and name non-empty.
 */
export function userJson(row: string): string {
  return `jsonb_build_object('id', ${row}.id::text, 'email', ${row}.email, 'name', ${row}.name, 'createTime', ${jsonTime(`${row}.created_at`)})`;
}

/** insertUser's statement, built once, as item-sql.ts's prepared statements are. */
const insertUserSql = `WITH new_user AS (
       INSERT INTO users (email, name) VALUES ($1, $2) RETURNING *
     ),
     changed AS (
       SELECT id AS entity_id, NULL::jsonb AS old_value, ${userJson("new_user")} AS new_value FROM new_user
     ),
     ${changeRecordCtes("user", "changed", 3)}
     SELECT ${columns} FROM new_user`;

/**
 * Creates the user with its audit row and `user.created` event in one statement. Throws unique_violation
 * (23505) when the email is taken, in any letter case: the statement then writes nothing.
 */
export async function insertUser(query: Query, email: string, name: string, change: ChangeContext): Promise<UserRow> {
  const { rows } = await query<UserRow>("user.insert", insertUserSql, [email, name, ...changeParameters(change)]);
  return rows[0]!;
}

const selectUserSql = `SELECT ${columns} FROM users WHERE id = $1`;

export async function selectUser(query: Query, id: string): Promise<UserRow | undefined> {
  const { rows } = await query<UserRow>("user.select", selectUserSql, [id]);
  return rows[0];
}

/** A keyset page of users, newest first, with the total, in one statement (columns qualified: see item-sql.ts). */
export async function listUserRows(
  query: Query,
  cursor: PageCursor | undefined,
  limit: number,
): Promise<{ rows: UserRow[]; total: bigint }> {
  const values: unknown[] = [limit];
  let after = "true";
  if (cursor !== undefined) {
    values.push(cursor.key, cursor.id);
    after = "(users.created_at, users.id) < ($2::timestamptz, $3::uuid)";
  }
  const { rows } = await query<UserRow & { total: string; present: boolean }>(
    "user.list",
    `SELECT t.total::text AS total, p.id IS NOT NULL AS present, p.*
       FROM (SELECT count(*) AS total FROM users) t
       LEFT JOIN LATERAL (
         SELECT ${columns} FROM users WHERE ${after} ORDER BY users.created_at DESC, users.id DESC LIMIT $1
       ) p ON true`,
    values,
  );
  return { rows: rows.filter((row) => row.present), total: BigInt(rows[0]?.total ?? "0") };
}
