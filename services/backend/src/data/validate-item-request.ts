import { createHash } from "node:crypto";
import type { JsonValue } from "@bufbuild/protobuf";
import {
  ItemOrderBy,
  ItemStatus,
  type CreateItemRequest,
  type Item,
  type ListItemsRequest,
  type UpdateItemRequest,
} from "../../../../gen/mesh/data/v1/data_pb.ts";
import { invalidArguments } from "../../../../lib/errors/connect-errors.ts";
import { isEnumValue } from "../../../../lib/errors/enum-value.ts";
import {
  checkExpectedVersion,
  checkIdempotencyKey,
  checkName,
  checkPageSize,
  checkPageToken,
  checkUuid,
  type Violation,
} from "./field-checks.ts";
import { canonicalJson, objectToJsonText, valueToJsonText } from "./json-field.ts";
import type { PageCursor } from "./page-token.ts";

export type StoredStatus = "active" | "archived";
export type ItemOrder = "create_time" | "update_time" | "name";

export interface ItemLimits {
  /** Largest `value`, as JSON bytes. */
  readonly maxValueBytes: number;
  /** Largest `metadata`, as JSON bytes. */
  readonly maxMetadataBytes: number;
}

/** An item's writable fields, ready for SQL: JSON as text, the status as stored. */
export interface ItemFields {
  readonly name: string;
  /** Undefined stores SQL NULL (no value). */
  readonly valueJson: string | undefined;
  readonly metadataJson: string;
  readonly status: StoredStatus;
}

export interface ValidCreateItem {
  readonly fields: ItemFields;
  readonly idempotencyKey: string | undefined;
  /** Identifies the request for idempotency: a reused key with another hash is refused. */
  readonly requestHash: string;
}

export interface ValidUpdateItem {
  readonly id: string;
  /** The fields named in the mask. */
  readonly paths: ReadonlySet<MutablePath>;
  /** Their new values; a `value` in `paths` without `valueJson` clears the value. */
  readonly changes: Partial<ItemFields>;
  readonly expectedVersion: bigint | undefined;
}

export interface ValidListItems {
  readonly pageSize: number;
  readonly status: StoredStatus | undefined;
  readonly order: ItemOrder;
  readonly descending: boolean;
  readonly cursor: PageCursor | undefined;
  /** The filter and order a page token is bound to. */
  readonly scope: string;
}

const storedStatus: Record<number, StoredStatus> = { [ItemStatus.ACTIVE]: "active", [ItemStatus.ARCHIVED]: "archived" };
const orders: Record<number, ItemOrder> = {
  [ItemOrderBy.UNSPECIFIED]: "create_time",
  [ItemOrderBy.CREATE_TIME]: "create_time",
  [ItemOrderBy.UPDATE_TIME]: "update_time",
  [ItemOrderBy.NAME]: "name",
};
const mutablePaths = ["name", "value", "metadata", "status"] as const;
export type MutablePath = (typeof mutablePaths)[number];
/** The text form of timestamps in page tokens; see item-store.ts. */
export const timestampKey = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function fieldsOf(out: Violation[], item: Item, limits: ItemLimits, paths: readonly MutablePath[], statusDefault: boolean): Partial<ItemFields> {
  const fields: { -readonly [K in keyof ItemFields]?: ItemFields[K] } = {};
  if (paths.includes("name")) {
    checkName(out, "item.name", item.name);
    fields.name = item.name;
  }
  if (paths.includes("value")) {
    const value = valueToJsonText(item.value, limits.maxValueBytes);
    if (value !== undefined && !value.ok) out.push({ field: "item.value", reason: value.reason });
    fields.valueJson = value?.ok ? value.json : undefined;
  }
  if (paths.includes("metadata")) {
    const metadata = objectToJsonText(item.metadata, limits.maxMetadataBytes);
    if (!metadata.ok) out.push({ field: "item.metadata", reason: metadata.reason });
    else fields.metadataJson = metadata.json;
  }
  if (paths.includes("status")) {
    const status = item.status === ItemStatus.UNSPECIFIED && statusDefault ? "active" : storedStatus[item.status];
    if (status === undefined) out.push({ field: "item.status", reason: "must be ITEM_STATUS_ACTIVE or ITEM_STATUS_ARCHIVED" });
    else fields.status = status;
  }
  return fields;
}

/** Checks every field of a CreateItemRequest; throws InvalidArgument naming each bad one. */
export function validateCreateItem(req: CreateItemRequest, idempotencyHeader: string | null, limits: ItemLimits): ValidCreateItem {
  const out: Violation[] = [];
  const idempotencyKey = checkIdempotencyKey(out, idempotencyHeader, req.idempotencyKey);
  if (req.item === undefined) {
    out.push({ field: "item", reason: "is required" });
    throw invalidArguments(out);
  }
  const fields = fieldsOf(out, req.item, limits, mutablePaths, true) as ItemFields;
  if (out.length > 0) throw invalidArguments(out);
  const identity = canonicalJson({
    name: fields.name,
    value: fields.valueJson === undefined ? "absent" : (JSON.parse(fields.valueJson) as JsonValue),
    metadata: JSON.parse(fields.metadataJson) as JsonValue,
    status: fields.status,
  });
  return { fields, idempotencyKey, requestHash: createHash("sha256").update(identity).digest("hex") };
}

/** Checks an UpdateItemRequest: the id, the mask's paths, the fields they name, and the expected version. */
export function validateUpdateItem(req: UpdateItemRequest, limits: ItemLimits): ValidUpdateItem {
  const out: Violation[] = [];
  if (req.item === undefined) {
    out.push({ field: "item", reason: "is required" });
    throw invalidArguments(out);
  }
  const id = checkUuid(out, "item.id", req.item.id);
  const paths: MutablePath[] = [];
  const mask = req.updateMask?.paths ?? [];
  if (mask.length === 0) out.push({ field: "update_mask", reason: `is required: name the fields to write, any of ${mutablePaths.join(", ")}` });
  mask.forEach((path, i) => {
    if (path === "*") paths.push(...mutablePaths);
    else if ((mutablePaths as readonly string[]).includes(path)) paths.push(path as MutablePath);
    else out.push({ field: `update_mask.paths[${i}]`, reason: `unknown or read-only field ${JSON.stringify(path)}; writable: ${mutablePaths.join(", ")}` });
  });
  const changes = fieldsOf(out, req.item, limits, paths, false);
  const expectedVersion = checkExpectedVersion(out, "expected_version", req.expectedVersion);
  if (out.length > 0 || id === undefined) throw invalidArguments(out);
  return { id, paths: new Set(paths), changes, expectedVersion };
}

/** Checks a ListItemsRequest, including that its page token belongs to the same filter and order. */
export function validateListItems(req: ListItemsRequest): ValidListItems {
  const out: Violation[] = [];
  const pageSize = checkPageSize(out, "page_size", req.pageSize);
  let status: StoredStatus | undefined;
  if (req.status !== ItemStatus.UNSPECIFIED) {
    status = storedStatus[req.status];
    if (status === undefined) out.push({ field: "status", reason: "must be unset, ITEM_STATUS_ACTIVE or ITEM_STATUS_ARCHIVED" });
  }
  const order = isEnumValue(ItemOrderBy, req.orderBy) ? orders[req.orderBy] : undefined;
  if (order === undefined) out.push({ field: "order_by", reason: "must be an ItemOrderBy value: CREATE_TIME, UPDATE_TIME or NAME" });
  const scope = `items|status=${status ?? "any"}|order=${order}|desc=${req.descending}`;
  const validKey = order === "name" ? (key: string) => key.length <= 1000 : (key: string) => timestampKey.test(key);
  const cursor = order === undefined ? undefined : checkPageToken(out, "page_token", req.pageToken, scope, validKey);
  if (out.length > 0 || order === undefined) throw invalidArguments(out);
  return { pageSize, status, order, descending: req.descending, cursor, scope };
}

/** The id of a Get, Delete or Undelete request. */
export function validateItemId(id: string, expectedVersion?: bigint): { id: string; expectedVersion: bigint | undefined } {
  const out: Violation[] = [];
  const valid = checkUuid(out, "id", id);
  const version = expectedVersion === undefined ? undefined : checkExpectedVersion(out, "expected_version", expectedVersion);
  if (out.length > 0 || valid === undefined) throw invalidArguments(out);
  return { id: valid, expectedVersion: version };
}
