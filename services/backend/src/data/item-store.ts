import { create, fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { context, propagation } from "@opentelemetry/api";
import { ItemSchema, ListItemsResponseSchema, type Item, type ListItemsResponse } from "../../../../gen/mesh/data/v1/data_pb.ts";
import { notFound } from "../../../../lib/errors/connect-errors.ts";
import type { Call } from "./call-context.ts";
import { recordChange, type Change } from "./change-log-sql.ts";
import type { DbRunner, Query } from "./db-runner.ts";
import { claimIdempotencyKey, storeIdempotentResponse } from "./idempotency-sql.ts";
import { cursorAfter, insertItem, listItemRows, selectItem, setItemDeleted, updateItemFields, type ItemRow } from "./item-sql.ts";
import { encodePageToken } from "./page-token.ts";
import { itemFromRow } from "./row-codec.ts";
import type { ValidCreateItem, ValidListItems, ValidUpdateItem } from "./validate-item-request.ts";

export interface ItemStoreOptions {
  /** How long an idempotency key is remembered. @default 86 400 */
  idempotencyTtlSeconds?: number;
}

/** The outcome of a write that may find nothing to do (a repeated delete or undelete). */
export interface ItemWrite {
  readonly item: Item;
  /** False when the item was already in the requested state: nothing was written. */
  readonly changed: boolean;
}

export interface ItemStore {
  /** Inserts the item with its audit row and `item.created` event, honouring the idempotency key. */
  create(call: Call, input: ValidCreateItem): Promise<ItemWrite>;
  /** The item, live or deleted; undefined when the id is unknown. */
  find(call: Call, id: string): Promise<Item | undefined>;
  list(call: Call, input: ValidListItems): Promise<ListItemsResponse>;
  /** Writes the masked fields; NotFound for unknown or deleted items, Aborted for a stale expected version. */
  update(call: Call, input: ValidUpdateItem): Promise<Item>;
  /** Soft delete; a deleted item is returned unchanged (the call is idempotent). */
  remove(call: Call, id: string, expectedVersion: bigint | undefined): Promise<ItemWrite>;
  /** Restores a deleted item; a live one is returned unchanged. */
  restore(call: Call, id: string): Promise<ItemWrite>;
}

/** The active W3C trace context, for the outbox relay to continue the request's trace. */
function traceContext(): Record<string, string> | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return Object.keys(carrier).length === 0 ? null : carrier;
}

const itemJson = (item: Item) => toJson(ItemSchema, item) as JsonValue;

function staleVersion(id: string, current: string, expected: bigint): ConnectError {
  return new ConnectError(
    `item ${id} is at version ${current}, not ${expected}: read it again and retry with expected_version ${current}`,
    Code.Aborted,
  );
}

async function recordItemChange(
  query: Query,
  call: Call,
  action: Change["action"],
  topic: string,
  before: Item | null,
  after: Item,
): Promise<void> {
  await recordChange(query, {
    entity: "item",
    entityId: after.id,
    action,
    oldValue: before === null ? null : itemJson(before),
    newValue: itemJson(after),
    requestId: call.requestId,
    actor: call.actor,
    topic,
    payload: { type: topic, action, item: itemJson(after), actor: call.actor, requestId: call.requestId },
    traceContext: traceContext(),
  });
}

async function liveRowForUpdate(query: Query, id: string): Promise<ItemRow> {
  const row = await selectItem(query, id, true);
  if (row === undefined || row.deleted_at !== null) throw notFound("item", id);
  return row;
}

/**
 * Items in PostgreSQL: every write is one transaction holding the row, its audit row and its outbox event.
 * Rows being changed are locked (SELECT ... FOR UPDATE), so version checks and audit "old" values are exact.
 */
export function createItemStore(db: DbRunner, options: ItemStoreOptions = {}): ItemStore {
  const idempotencyTtl = options.idempotencyTtlSeconds ?? 86_400;

  return {
    create(call, input) {
      const key = input.idempotencyKey === undefined ? undefined : `CreateItem:${input.idempotencyKey}`;
      return db.write(call, "item.create", async (query) => {
        if (key !== undefined) {
          const claim = await claimIdempotencyKey(query, key, input.requestHash, idempotencyTtl);
          if (!claim.claimed) {
            if (claim.requestHash !== input.requestHash) {
              throw new ConnectError(
                "this idempotency key was already used for a different request: use a new key for a new item",
                Code.AlreadyExists,
              );
            }
            // The claim and its response commit together, so this means a row written by something else.
            if (claim.response === null) throw new ConnectError("the first request with this idempotency key has no result; retry", Code.Aborted);
            return { item: fromJson(ItemSchema, claim.response), changed: false };
          }
        }
        const item = itemFromRow(await insertItem(query, input.fields));
        await recordItemChange(query, call, "create", "item.created", null, item);
        if (key !== undefined) await storeIdempotentResponse(query, key, itemJson(item));
        return { item, changed: true };
      });
    },

    find(call, id) {
      return db.read(call, "item.get", async (query) => {
        const row = await selectItem(query, id);
        return row === undefined ? undefined : itemFromRow(row);
      });
    },

    list(call, input) {
      return db.read(call, "item.list", async (query) => {
        const { rows, total } = await listItemRows(query, {
          status: input.status,
          order: input.order,
          descending: input.descending,
          cursor: input.cursor,
          limit: input.pageSize + 1,
        });
        const page = rows.slice(0, input.pageSize);
        const last = page.at(-1);
        return create(ListItemsResponseSchema, {
          items: page.map(itemFromRow),
          nextPageToken: rows.length > input.pageSize && last !== undefined ? encodePageToken(cursorAfter(last, input.order), input.scope) : "",
          totalSize: total,
        });
      });
    },

    update(call, input) {
      return db.write(call, "item.update", async (query) => {
        const before = await liveRowForUpdate(query, input.id);
        if (input.expectedVersion !== undefined && BigInt(before.version) !== input.expectedVersion) {
          throw staleVersion(input.id, before.version, input.expectedVersion);
        }
        const after = itemFromRow(await updateItemFields(query, input.id, input.paths, input.changes));
        await recordItemChange(query, call, "update", "item.updated", itemFromRow(before), after);
        return after;
      });
    },

    remove(call, id, expectedVersion) {
      return db.write(call, "item.delete", async (query) => {
        const before = await selectItem(query, id, true);
        if (before === undefined) throw notFound("item", id);
        if (before.deleted_at !== null) return { item: itemFromRow(before), changed: false };
        if (expectedVersion !== undefined && BigInt(before.version) !== expectedVersion) {
          throw staleVersion(id, before.version, expectedVersion);
        }
        const after = itemFromRow(await setItemDeleted(query, id, true));
        await recordItemChange(query, call, "delete", "item.deleted", itemFromRow(before), after);
        return { item: after, changed: true };
      });
    },

    restore(call, id) {
      return db.write(call, "item.undelete", async (query) => {
        const before = await selectItem(query, id, true);
        if (before === undefined) throw notFound("item", id);
        if (before.deleted_at === null) return { item: itemFromRow(before), changed: false };
        const after = itemFromRow(await setItemDeleted(query, id, false));
        // Consumers know three item topics; a restore is an update that clears delete_time.
        await recordItemChange(query, call, "undelete", "item.updated", itemFromRow(before), after);
        return { item: after, changed: true };
      });
    },
  };
}
