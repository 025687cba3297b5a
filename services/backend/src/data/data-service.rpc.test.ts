import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { FieldMaskSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport, type Client } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../../../gen/google/rpc/error_details_pb.ts";
import { DataService, ItemStatus } from "../../../../gen/mesh/data/v1/data_pb.ts";
import { createPool } from "../../../../lib/db/create-pool.ts";
import { createErrorInterceptor } from "../../../../lib/errors/error-interceptor.ts";
import { createFaultRegistry } from "../faults/fault-registry.ts";
import { createDependencyFaultGate } from "../faults/dependency-fault-gate.ts";
import { createCacheClient } from "./cache-client.ts";
import { createDataMetrics } from "./data-metrics.ts";
import { createDataService } from "./data-service.ts";
import { createDbRunner } from "./db-runner.ts";
import { createItemStore } from "./item-store.ts";
import { encodePageToken } from "./page-token.ts";
import { createReadThroughCache, type ReadThroughCache } from "./read-through-cache.ts";
import { createUserStore } from "./user-store.ts";

/*
 * Validation happens before any I/O, so the service runs here on a pool and a Valkey client that point at
 * nothing: a request that got past validation would fail with Unavailable, not InvalidArgument.
 */
const logger = pino({ level: "silent" });
const pool = createPool({ url: "postgres://nobody@127.0.0.1:9/none", applicationName: "rpc-test", connectionTimeoutMillis: 200 });
const redis = new Redis("redis://127.0.0.1:9", { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
redis.on("error", () => {});
let cache: ReadThroughCache;
let client: Client<typeof DataService>;

beforeAll(() => {
  const gate = createDependencyFaultGate(createFaultRegistry());
  const metrics = createDataMetrics(pool);
  const db = createDbRunner({ pool, gate, logger, metrics }, { retries: 0 });
  cache = createReadThroughCache({ client: createCacheClient({ redis, gate, logger, metrics }), logger, metrics });
  const service = createDataService(
    { items: createItemStore(db), users: createUserStore(db), cache },
    { maxValueBytes: 1024, maxMetadataBytes: 512 },
  );
  const transport = createRouterTransport((router) => router.service(DataService, service), {
    router: { interceptors: [createErrorInterceptor(logger)] },
  });
  client = createClient(DataService, transport);
});

afterAll(async () => {
  cache.close();
  redis.disconnect();
  await pool.end();
});

const uuid = "3f2c1a9e-5b7d-4c1e-9f3a-2b8c6d4e1f07";
const value = (json: JsonValue) => fromJson(ValueSchema, json);
const nan = create(ValueSchema, { kind: { case: "numberValue", value: Number.NaN } });
const deep = (levels: number): JsonValue => (levels === 0 ? 1 : [deep(levels - 1)]);
const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });
const token = (scope: string, key = "2026-01-01T00:00:00.000000Z", id = uuid) => encodePageToken({ key, id }, scope);
const b64 = (text: string) => Buffer.from(text).toString("base64url");

type Case = [label: string, call: (c: Client<typeof DataService>) => Promise<unknown>, fields: string[]];

const cases: Case[] = [
  ["CreateItem without item", (c) => c.createItem({}), ["item"]],
  ["empty name", (c) => c.createItem({ item: { name: "" } }), ["item.name"]],
  ["blank name", (c) => c.createItem({ item: { name: "   " } }), ["item.name"]],
  ["name of 201 characters", (c) => c.createItem({ item: { name: "x".repeat(201) } }), ["item.name"]],
  ["name of 201 emoji", (c) => c.createItem({ item: { name: "😀".repeat(201) } }), ["item.name"]],
  ["name with U+0000", (c) => c.createItem({ item: { name: "a\u0000b" } }), ["item.name"]],
  ["value NaN", (c) => c.createItem({ item: { name: "n", value: nan } }), ["item.value"]],
  ["value without a kind", (c) => c.createItem({ item: { name: "n", value: create(ValueSchema, {}) } }), ["item.value"]],
  ["value with U+0000", (c) => c.createItem({ item: { name: "n", value: value({ s: "a\u0000" }) } }), ["item.value"]],
  ["value over the limit", (c) => c.createItem({ item: { name: "n", value: value("x".repeat(1100)) } }), ["item.value"]],
  // Deeper than 32 levels but within what protobuf decoding accepts (100 message levels, about 48 here).
  ["value nested too deep", (c) => c.createItem({ item: { name: "n", value: value(deep(40)) } }), ["item.value"]],
  ["metadata over the limit", (c) => c.createItem({ item: { name: "n", metadata: { k: "x".repeat(600) } } }), ["item.metadata"]],
  ["metadata NaN", (c) => c.createItem({ item: { name: "n", metadata: { k: Number.NaN } } }), ["item.metadata"]],
  ["unknown status", (c) => c.createItem({ item: { name: "n", status: 7 as ItemStatus } }), ["item.status"]],
  ["idempotency key too long", (c) => c.createItem({ item: { name: "n" }, idempotencyKey: "k".repeat(201) }), ["idempotency_key"]],
  [
    "Idempotency-Key header too long",
    (c) => c.createItem({ item: { name: "n" } }, { headers: { "idempotency-key": "k".repeat(201) } }),
    ["Idempotency-Key"],
  ],
  ["x-actor header too long", (c) => c.createItem({ item: { name: "n" } }, { headers: { "x-actor": "a".repeat(201) } }), ["x-actor"]],
  ["several fields at once", (c) => c.createItem({ item: { name: "", status: 9 as ItemStatus, value: nan } }), ["item.name", "item.value", "item.status"]],

  ["GetItem without id", (c) => c.getItem({}), ["id"]],
  ["GetItem malformed id", (c) => c.getItem({ id: "not-a-uuid" }), ["id"]],
  ["GetItem injection as id", (c) => c.getItem({ id: "'; DROP TABLE items;--" }), ["id"]],
  ["GetItem uuid with extra text", (c) => c.getItem({ id: `${uuid} OR 1=1` }), ["id"]],

  ["ListItems negative page size", (c) => c.listItems({ pageSize: -1 }), ["page_size"]],
  ["ListItems huge page size", (c) => c.listItems({ pageSize: 1001 }), ["page_size"]],
  ["ListItems unknown status", (c) => c.listItems({ status: 9 as ItemStatus }), ["status"]],
  ["ListItems unknown order", (c) => c.listItems({ orderBy: 7 as never }), ["order_by"]],
  ["ListItems token not base64url", (c) => c.listItems({ pageToken: "not a token!" }), ["page_token"]],
  ["ListItems token of junk", (c) => c.listItems({ pageToken: b64("{junk") }), ["page_token"]],
  ["ListItems token of another version", (c) => c.listItems({ pageToken: b64('{"v":9,"k":"a","i":"x","f":"y"}') }), ["page_token"]],
  ["ListItems token with a bad id", (c) => c.listItems({ pageToken: token("items|status=any|order=create_time|desc=false", undefined, "1; DROP") }), ["page_token"]],
  ["ListItems token with a bad sort key", (c) => c.listItems({ pageToken: token("items|status=any|order=create_time|desc=false", "yesterday") }), ["page_token"]],
  ["ListItems token of another order", (c) => c.listItems({ pageToken: token("items|status=any|order=name|desc=false") }), ["page_token"]],
  ["ListItems token too long", (c) => c.listItems({ pageToken: "a".repeat(5000) }), ["page_token"]],
  ["ListItems size and token both bad", (c) => c.listItems({ pageSize: -3, pageToken: "%%" }), ["page_size", "page_token"]],

  ["UpdateItem without item", (c) => c.updateItem({ updateMask: mask("name") }), ["item"]],
  ["UpdateItem malformed id", (c) => c.updateItem({ item: { id: "x", name: "n" }, updateMask: mask("name") }), ["item.id"]],
  ["UpdateItem without mask", (c) => c.updateItem({ item: { id: uuid, name: "n" } }), ["update_mask"]],
  ["UpdateItem unknown path", (c) => c.updateItem({ item: { id: uuid, name: "n" }, updateMask: mask("name", "colour") }), ["update_mask.paths[1]"]],
  ["UpdateItem read-only path", (c) => c.updateItem({ item: { id: uuid }, updateMask: mask("version") }), ["update_mask.paths[0]"]],
  ["UpdateItem unset status", (c) => c.updateItem({ item: { id: uuid }, updateMask: mask("status") }), ["item.status"]],
  ["UpdateItem bad name", (c) => c.updateItem({ item: { id: uuid, name: "" }, updateMask: mask("name") }), ["item.name"]],
  ["UpdateItem value over the limit", (c) => c.updateItem({ item: { id: uuid, value: value("y".repeat(2000)) }, updateMask: mask("value") }), ["item.value"]],
  ["UpdateItem negative version", (c) => c.updateItem({ item: { id: uuid, name: "n" }, updateMask: mask("name"), expectedVersion: -1n }), ["expected_version"]],

  ["DeleteItem malformed id", (c) => c.deleteItem({ id: "1" }), ["id"]],
  ["DeleteItem negative version", (c) => c.deleteItem({ id: uuid, expectedVersion: -2n }), ["expected_version"]],
  ["UndeleteItem malformed id", (c) => c.undeleteItem({ id: "zz" }), ["id"]],

  ["CreateUser without user", (c) => c.createUser({}), ["user"]],
  ["CreateUser empty email and name", (c) => c.createUser({ user: {} }), ["user.email", "user.name"]],
  ["CreateUser email without @", (c) => c.createUser({ user: { email: "ada.example.com", name: "Ada" } }), ["user.email"]],
  ["CreateUser email without a domain dot", (c) => c.createUser({ user: { email: "ada@localhost", name: "Ada" } }), ["user.email"]],
  ["CreateUser email with spaces", (c) => c.createUser({ user: { email: "ada lovelace@example.com", name: "Ada" } }), ["user.email"]],
  ["CreateUser email too long", (c) => c.createUser({ user: { email: `${"a".repeat(60)}@${"b".repeat(260)}.com`, name: "Ada" } }), ["user.email"]],
  ["CreateUser injection as email", (c) => c.createUser({ user: { email: "x'; DROP TABLE users;--@example.com", name: "Ada" } }), ["user.email"]],
  ["CreateUser name too long", (c) => c.createUser({ user: { email: "ada@example.com", name: "n".repeat(201) } }), ["user.name"]],
  ["GetUser malformed id", (c) => c.getUser({ id: "nope" }), ["id"]],
  ["ListUsers negative page size", (c) => c.listUsers({ pageSize: -5 }), ["page_size"]],
  ["ListUsers token of ListItems", (c) => c.listUsers({ pageToken: token("items|status=any|order=create_time|desc=false") }), ["page_token"]],
];

describe("bad input", () => {
  it.each(cases)("%s: InvalidArgument naming the field", async (_label, call, fields) => {
    let error: ConnectError | undefined;
    try {
      await call(client);
    } catch (err) {
      error = ConnectError.from(err);
    }
    expect(error?.code).toBe(Code.InvalidArgument);
    const violations = error!.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations);
    expect(violations.map((v) => v.field).sort()).toEqual([...fields].sort());
    for (const v of violations) expect(v.description.length).toBeGreaterThan(5);
    expect(error!.rawMessage).not.toMatch(/SELECT|INSERT|UPDATE items|\bat .*\.ts:\d+/);
  });
});
