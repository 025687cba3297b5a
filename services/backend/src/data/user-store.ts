import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ListUsersResponseSchema, type ListUsersResponse, type User } from "../../../../gen/mesh/data/v1/data_pb.ts";
import type { Call } from "./call-context.ts";
import { changeContext } from "./change-context.ts";
import type { DbRunner } from "./db-runner.ts";
import { encodePageToken, type PageCursor } from "./page-token.ts";
import { userFromRow } from "./row-codec.ts";
import { insertUser, listUserRows, selectUser } from "./user-sql.ts";

export interface UserStore {
  /** AlreadyExists when the email is taken, in any letter case. */
  create(call: Call, email: string, name: string): Promise<User>;
  find(call: Call, id: string): Promise<User | undefined>;
  list(call: Call, cursor: PageCursor | undefined, pageSize: number, scope: string): Promise<ListUsersResponse>;
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "23505";
}

/**
 * Users in PostgreSQL; a create is one statement, and so one transaction, holding the row, its audit row
 * and a `user.created` event (data-modifying CTEs; see user-sql.ts).
 */
export function createUserStore(db: DbRunner): UserStore {
  return {
    async create(call, email, name) {
      const change = changeContext(call, "create", "user.created");
      try {
        // Not repeatable: a user create has no idempotency key, so a connection lost after the statement was
        // sent (it may have committed) is not retried, lest the retry find its own email taken.
        const row = await db.writeStatement(call, "user.create", (query) => insertUser(query, email, name, change), { repeatable: false });
        return userFromRow(row);
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw new ConnectError(`a user with email ${JSON.stringify(email)} already exists (emails are compared ignoring case)`, Code.AlreadyExists);
        }
        throw err;
      }
    },

    find(call, id) {
      return db.read(call, "user.get", async (query) => {
        const row = await selectUser(query, id);
        return row === undefined ? undefined : userFromRow(row);
      });
    },

    list(call, cursor, pageSize, scope) {
      return db.read(call, "user.list", async (query) => {
        const { rows, total } = await listUserRows(query, cursor, pageSize + 1);
        const page = rows.slice(0, pageSize);
        const last = page.at(-1);
        return create(ListUsersResponseSchema, {
          users: page.map(userFromRow),
          nextPageToken: rows.length > pageSize && last !== undefined ? encodePageToken({ key: last.created_at, id: last.id }, scope) : "",
          totalSize: total,
        });
      });
    },
  };
}
