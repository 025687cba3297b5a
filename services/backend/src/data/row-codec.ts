import { create, fromJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { TimestampSchema, ValueSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import { ItemSchema, ItemStatus, UserSchema, type Item, type User } from "../../../../gen/mesh/data/v1/data_pb.ts";
import type { ItemRow } from "./item-sql.ts";
import type { UserRow } from "./user-sql.ts";

/** A Timestamp from `YYYY-MM-DDTHH:MM:SS.ffffffZ`, keeping the microseconds that a Date would drop. */
export function timestampFromText(text: string): Timestamp {
  const seconds = Math.floor(Date.parse(`${text.slice(0, 19)}Z`) / 1000);
  const micros = Number(text.slice(20, 26));
  return create(TimestampSchema, { seconds: BigInt(seconds), nanos: micros * 1000 });
}

const statusOf = { active: ItemStatus.ACTIVE, archived: ItemStatus.ARCHIVED } as const;

export function itemFromRow(row: ItemRow): Item {
  return create(ItemSchema, {
    id: row.id,
    name: row.name,
    value: row.value === null ? undefined : fromJson(ValueSchema, JSON.parse(row.value) as JsonValue),
    metadata: JSON.parse(row.metadata) as JsonObject,
    status: statusOf[row.status],
    version: BigInt(row.version),
    createTime: timestampFromText(row.created_at),
    updateTime: timestampFromText(row.updated_at),
    deleteTime: row.deleted_at === null ? undefined : timestampFromText(row.deleted_at),
  });
}

export function userFromRow(row: UserRow): User {
  return create(UserSchema, {
    id: row.id,
    email: row.email,
    name: row.name,
    createTime: timestampFromText(row.created_at),
  });
}
