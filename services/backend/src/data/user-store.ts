import { create, toJson, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { context, propagation } from "@opentelemetry/api";
import { ListUsersResponseSchema, UserSchema, type ListUsersResponse, type User } from "../../../../gen/mesh/data/v1/data_pb.ts";
import type { Call } from "./call-context.ts";
import { recordChange } from "./change-log-sql.ts";
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

/** Users in PostgreSQL; a create writes the row, its audit row and a `user.created` event in one transaction. */
export function createUserStore(db: DbRunner): UserStore {
  return {
    create(call, email, name) {
      return db.write(call, "user.create", async (query) => {
        let user: User;
        try {
          user = userFromRow(await insertUser(query, email, name));
        } catch (err) {
          if (isUniqueViolation(err)) {
            throw new ConnectError(`a user with email ${JSON.stringify(email)} already exists (emails are compared ignoring case)`, Code.AlreadyExists);
          }
          throw err;
        }
        const json = toJson(UserSchema, user) as JsonValue;
        const carrier: Record<string, string> = {};
        propagation.inject(context.active(), carrier);
        await recordChange(query, {
          entity: "user",
          entityId: user.id,
          action: "create",
          oldValue: null,
          newValue: json,
          requestId: call.requestId,
          actor: call.actor,
          topic: "user.created",
          payload: { type: "user.created", action: "create", user: json, actor: call.actor, requestId: call.requestId },
          traceContext: Object.keys(carrier).length === 0 ? null : carrier,
        });
        return user;
      });
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
