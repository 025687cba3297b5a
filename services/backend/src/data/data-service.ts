import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  DataService,
  GetItemResponseSchema,
  GetUserResponseSchema,
  ItemSchema,
  ListItemsResponseSchema,
  ListUsersResponseSchema,
  UserSchema,
} from "../../../../gen/mesh/data/v1/data_pb.ts";
import { notFound } from "../../../../lib/errors/connect-errors.ts";
import { messageWithEncodedField } from "../../../../lib/server/message-with-encoded-field.ts";
import { callFromContext } from "./call-context.ts";
import type { ItemStore } from "./item-store.ts";
import type { Loaded, ReadThroughCache } from "./read-through-cache.ts";
import type { UserStore } from "./user-store.ts";
import { validateCreateItem, validateItemId, validateListItems, validateUpdateItem, type ItemLimits } from "./validate-item-request.ts";
import { userListScope, validateCreateUser, validateListUsers, validateUserId } from "./validate-user-request.ts";

export interface DataServiceDeps {
  items: ItemStore;
  users: UserStore;
  cache: ReadThroughCache;
}

/** Users are never changed after creation: every cached copy is version 1. */
const userVersion = 1n;

/**
 * mesh.data.v1.DataService. Each handler validates every field first (InvalidArgument naming the field),
 * reads through the cache unless `nocache` is set, and invalidates after the store's transaction commits.
 */
export function createDataService(deps: DataServiceDeps, limits: ItemLimits): ServiceImpl<typeof DataService> {
  const { items, users, cache } = deps;

  return {
    async createItem(req, ctx) {
      const input = validateCreateItem(req, ctx.requestHeader.get("idempotency-key"), limits);
      const call = callFromContext(ctx);
      // A replay bumps too: its first request may have committed in an attempt whose answer was lost.
      const { item } = await items.create(call, input);
      await cache.bump(call, "items");
      return { item };
    },

    async getItem(req, ctx) {
      const { id } = validateItemId(req.id);
      const call = callFromContext(ctx);
      if (req.nocache) {
        const item = await items.find(call, id);
        if (item === undefined || item.deleteTime !== undefined) throw notFound("item", id);
        return { item, cached: false };
      }
      const result = await cache.entity(call, "item", id, async (loadCall): Promise<Loaded> => {
        const item = await items.find(loadCall, id);
        if (item === undefined) return { version: 0n, payload: undefined };
        // A deleted item is cached as NotFound at its version, so that an undelete's invalidation wins.
        if (item.deleteTime !== undefined) return { version: item.version, payload: undefined };
        return { version: item.version, payload: toBinary(ItemSchema, item) };
      });
      if (result.payload === undefined) throw notFound("item", id);
      // The cached bytes are the item's encoding: a binary response carries them as they are.
      return messageWithEncodedField(GetItemResponseSchema, { cached: result.cached }, "item", result.payload);
    },

    async listItems(req, ctx) {
      const input = validateListItems(req);
      const call = callFromContext(ctx);
      if (req.nocache) return items.list(call, input);
      const query = `${input.scope}|size=${input.pageSize}|token=${req.pageToken}`;
      const { payload } = await cache.page(call, "items", query, async (loadCall) =>
        toBinary(ListItemsResponseSchema, await items.list(loadCall, input)),
      );
      return fromBinary(ListItemsResponseSchema, payload);
    },

    async updateItem(req, ctx) {
      const input = validateUpdateItem(req, limits);
      const call = callFromContext(ctx);
      const item = await items.update(call, input);
      await cache.invalidate(call, "items", "item", item.id, item.version);
      return { item };
    },

    async deleteItem(req, ctx) {
      const { id, expectedVersion } = validateItemId(req.id, req.expectedVersion);
      const call = callFromContext(ctx);
      const { item, changed } = await items.remove(call, id, expectedVersion);
      if (changed) await cache.invalidate(call, "items", "item", item.id, item.version);
      return { item };
    },

    async undeleteItem(req, ctx) {
      const { id } = validateItemId(req.id);
      const call = callFromContext(ctx);
      const { item, changed } = await items.restore(call, id);
      if (changed) await cache.invalidate(call, "items", "item", item.id, item.version);
      return { item };
    },

    async createUser(req, ctx) {
      const { email, name } = validateCreateUser(req);
      const call = callFromContext(ctx);
      const user = await users.create(call, email, name);
      await cache.bump(call, "users");
      return { user };
    },

    async getUser(req, ctx) {
      const id = validateUserId(req.id);
      const call = callFromContext(ctx);
      if (req.nocache) {
        const user = await users.find(call, id);
        if (user === undefined) throw notFound("user", id);
        return { user, cached: false };
      }
      const result = await cache.entity(call, "user", id, async (loadCall): Promise<Loaded> => {
        const user = await users.find(loadCall, id);
        return user === undefined ? { version: 0n, payload: undefined } : { version: userVersion, payload: toBinary(UserSchema, user) };
      });
      if (result.payload === undefined) throw notFound("user", id);
      return messageWithEncodedField(GetUserResponseSchema, { cached: result.cached }, "user", result.payload);
    },

    async listUsers(req, ctx) {
      const { pageSize, cursor } = validateListUsers(req);
      const call = callFromContext(ctx);
      if (req.nocache) return users.list(call, cursor, pageSize, userListScope);
      const query = `${userListScope}|size=${pageSize}|token=${req.pageToken}`;
      const { payload } = await cache.page(call, "users", query, async (loadCall) =>
        toBinary(ListUsersResponseSchema, await users.list(loadCall, cursor, pageSize, userListScope)),
      );
      return fromBinary(ListUsersResponseSchema, payload);
    },
  };
}
