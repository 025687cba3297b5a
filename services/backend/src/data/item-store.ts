import { create, fromJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ItemSchema, ListItemsResponseSchema, type Item, type ListItemsResponse } from "../../../../gen/mesh/data/v1/data_pb.ts";
import { notFound } from "../../../../lib/errors/connect-errors.ts";
import type { Call } from "./call-context.ts";
import { changeContext } from "./change-context.ts";
import type { DbRunner } from "./db-runner.ts";
import { selectIdempotencyRecord, type IdempotencyRecord } from "./idempotency-sql.ts";
import {
  cursorAfter,
  insertItem,
  listItemRows,
  selectItem,
  softDeleteItem,
  undeleteItem,
  updateItemFields,
  type ItemRow,
} from "./item-sql.ts";
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

function staleVersion(id: string, current: string, expected: bigint): ConnectError {
  return new ConnectError(
    `item ${id} is at version ${current}, not ${expected}: read it again and retry with expected_version ${current}`,
    Code.Aborted,
  );
}

/** The first result under an idempotency key, for a repeat of its request. */
function replay(record: IdempotencyRecord | undefined, requestHash: string): ItemWrite {
  if (record !== undefined && record.requestHash !== requestHash) {
    throw new ConnectError("this idempotency key was already used for a different request: use a new key for a new item", Code.AlreadyExists);
  }
  // The claim and its response commit together, so this means a row written by something else (or one
  // that expired and was deleted meanwhile).
  if (record?.response == null) throw new ConnectError("the first request with this idempotency key has no result; retry", Code.Aborted);
  return { item: fromJson(ItemSchema, record.response), changed: false };
}

/** Why a write to a live item at `expectedVersion` wrote nothing. */
function refusal(id: string, before: ItemRow | undefined, expectedVersion: bigint | undefined): ConnectError {
  if (before === undefined || before.deleted_at !== null) return notFound("item", id);
  if (expectedVersion !== undefined && BigInt(before.version) !== expectedVersion) return staleVersion(id, before.version, expectedVersion);
  return new ConnectError(`item ${id} was not written`, Code.Internal);
}

/**
 * Items in PostgreSQL: every write is one statement, and so one transaction, holding the row, its audit
 * row and its outbox event (data-modifying CTEs; see item-sql.ts). Rows being changed are locked in it
 * (SELECT ... FOR UPDATE), so version checks and audit "old" values are exact.
 */
export function createItemStore(db: DbRunner, options: ItemStoreOptions = {}): ItemStore {
  const idempotencyTtl = options.idempotencyTtlSeconds ?? 86_400;

  return {
    async create(call, input) {
      const keyed =
        input.idempotencyKey === undefined
          ? undefined
          : { key: `CreateItem:${input.idempotencyKey}`, requestHash: input.requestHash, ttlSeconds: idempotencyTtl };
      const change = changeContext(call, "create", "item.created");
      // Under an idempotency key a repeat is a replay, so a connection lost mid-statement may be retried.
      const outcome = await db.writeStatement(call, "item.create", (query) => insertItem(query, input.fields, keyed, change), { repeatable: keyed !== undefined });
      if (outcome.created !== undefined) return { item: itemFromRow(outcome.created), changed: true };
      if (keyed === undefined) throw new Error("an item create without an idempotency key inserted nothing");
      // The key is another request's. A claim that committed after the statement began was not visible to it.
      const record = outcome.claimedBy ?? (await db.read(call, "item.create.replay", (query) => selectIdempotencyRecord(query, keyed.key)));
      return replay(record, input.requestHash);
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

    async update(call, input) {
      const change = changeContext(call, "update", "item.updated");
      const { before, after } = await db.writeStatement(call, "item.update", (query) =>
        updateItemFields(query, input.id, input.paths, input.changes, input.expectedVersion, change),
      );
      if (after === undefined) throw refusal(input.id, before, input.expectedVersion);
      return itemFromRow(after);
    },

    async remove(call, id, expectedVersion) {
      const change = changeContext(call, "delete", "item.deleted");
      const { before, after } = await db.writeStatement(call, "item.delete", (query) => softDeleteItem(query, id, expectedVersion, change));
      if (after !== undefined) return { item: itemFromRow(after), changed: true };
      // A deleted item is returned unchanged whatever the expected version.
      if (before?.deleted_at != null) return { item: itemFromRow(before), changed: false };
      throw refusal(id, before, expectedVersion);
    },

    async restore(call, id) {
      // Consumers know three item topics; a restore is an update that clears delete_time.
      const change = changeContext(call, "undelete", "item.updated");
      const { before, after } = await db.writeStatement(call, "item.undelete", (query) => undeleteItem(query, id, change));
      if (after !== undefined) return { item: itemFromRow(after), changed: true };
      if (before === undefined) throw notFound("item", id);
      return { item: itemFromRow(before), changed: false };
    },
  };
}
