import { create, fromJson, toJson } from "@bufbuild/protobuf";
import { FieldMaskSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ItemOrderBy, ItemStatus, type Item } from "../../../../gen/mesh/data/v1/data_pb.ts";
import { startTelemetry, type Telemetry } from "../../../../lib/telemetry/start-telemetry.ts";
import { infraUrls } from "../../../../test/infra-context.ts";
import { startTestBackend, type TestBackend } from "./test-backend.ts";

let t: TestBackend;
let telemetry: Telemetry;

beforeAll(async () => {
  // The real SDK (no exporter): context propagation, so request ids and traceparent reach the data layer.
  telemetry = await startTelemetry({ serviceName: "backend-test", instanceId: "test", version: "0", ratio: 1 });
  t = await startTestBackend({ ...infraUrls(), label: "data-service" });
});

afterAll(async () => {
  await t?.stop();
  await telemetry?.shutdown();
});

async function codeOf(call: Promise<unknown> | (() => Promise<unknown>)): Promise<{ code: Code; message: string }> {
  try {
    await (typeof call === "function" ? call() : call);
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: e.code, message: e.rawMessage };
  }
  throw new Error("expected the call to fail");
}

const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });

describe("items: create, read, update, delete", () => {
  it("creates an item with version 1 and times, and reads it back over both protocols", async () => {
    const { item } = await t.data.createItem({
      item: { name: "first", value: fromJson(ValueSchema, { n: 1, list: [true, null, "s"] }), metadata: { owner: "ada" } },
    });
    expect(item).toMatchObject({ name: "first", version: 1n, status: ItemStatus.ACTIVE, metadata: { owner: "ada" } });
    expect(item!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(item!.createTime).toEqual(item!.updateTime);
    expect(item!.deleteTime).toBeUndefined();
    expect(toJson(ValueSchema, item!.value!)).toEqual({ n: 1, list: [true, null, "s"] });

    const viaGrpc = await t.data.getItem({ id: item!.id });
    const viaConnect = await t.dataConnect.getItem({ id: item!.id.toUpperCase() });
    expect(viaGrpc.item).toEqual(item);
    expect(viaConnect.item).toEqual(item);
  });

  it("keeps an unset value apart from a JSON null", async () => {
    const unset = (await t.data.createItem({ item: { name: "no value" } })).item!;
    const nullValue = (await t.data.createItem({ item: { name: "null value", value: fromJson(ValueSchema, null) } })).item!;
    expect((await t.data.getItem({ id: unset.id, nocache: true })).item!.value).toBeUndefined();
    expect(toJson(ValueSchema, (await t.data.getItem({ id: nullValue.id, nocache: true })).item!.value!)).toBeNull();
  });

  it("stores SQL metacharacters and injection strings verbatim", async () => {
    const nasty = [
      "Robert'); DROP TABLE items;--",
      "' OR '1'='1",
      "\\'; SELECT pg_sleep(10); --",
      "$1 $$ $body$ %s %%",
      "😀 ünïcödé \u202e",
    ];
    for (const name of nasty) {
      const { item } = await t.data.createItem({
        item: { name, value: fromJson(ValueSchema, { q: name }), metadata: { [name]: name } },
      });
      const read = (await t.data.getItem({ id: item!.id, nocache: true })).item!;
      expect(read.name).toBe(name);
      expect(toJson(ValueSchema, read.value!)).toEqual({ q: name });
      expect(read.metadata).toEqual({ [name]: name });
    }
    const { rows } = await t.pool.query("SELECT count(*)::int AS n FROM items");
    expect(rows[0].n).toBeGreaterThanOrEqual(nasty.length);
  });

  it("updates the masked fields only, and bumps the version", async () => {
    const created = (await t.data.createItem({ item: { name: "before", metadata: { a: 1 }, value: fromJson(ValueSchema, 1) } })).item!;
    const { item } = await t.data.updateItem({
      item: { id: created.id, name: "after", metadata: { ignored: true }, status: ItemStatus.ARCHIVED },
      updateMask: mask("name", "status"),
      expectedVersion: 1n,
    });
    expect(item).toMatchObject({ id: created.id, name: "after", version: 2n, status: ItemStatus.ARCHIVED, metadata: { a: 1 } });
    expect(toJson(ValueSchema, item!.value!)).toBe(1);
    expect(item!.createTime).toEqual(created.createTime);

    const cleared = (await t.data.updateItem({ item: { id: created.id }, updateMask: mask("value") })).item!;
    expect(cleared.value).toBeUndefined();
    expect(cleared.version).toBe(3n);
  });

  it("rejects a stale expected_version with Aborted naming the current version", async () => {
    const created = (await t.data.createItem({ item: { name: "contended" } })).item!;
    await t.data.updateItem({ item: { id: created.id, name: "one" }, updateMask: mask("name"), expectedVersion: 1n });
    const stale = await codeOf(t.data.updateItem({ item: { id: created.id, name: "two" }, updateMask: mask("name"), expectedVersion: 1n }));
    expect(stale.code).toBe(Code.Aborted);
    expect(stale.message).toContain("version 2");
    const staleDelete = await codeOf(t.data.deleteItem({ id: created.id, expectedVersion: 1n }));
    expect(staleDelete.code).toBe(Code.Aborted);
    expect((await t.data.getItem({ id: created.id })).item!.name).toBe("one");
  });

  it("lets exactly one of many concurrent updates with the same expected version win", async () => {
    const created = (await t.data.createItem({ item: { name: "race" } })).item!;
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        t.data.updateItem({ item: { id: created.id, name: `racer ${i}` }, updateMask: mask("name"), expectedVersion: 1n }),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(ConnectError.from(r.reason).code).toBe(Code.Aborted);
  });

  it("soft-deletes: NotFound for reads and updates, the row stays, delete is idempotent, undelete restores", async () => {
    const created = (await t.data.createItem({ item: { name: "doomed" } })).item!;
    await t.data.getItem({ id: created.id }); // cached
    const deleted = (await t.data.deleteItem({ id: created.id, expectedVersion: 1n })).item!;
    expect(deleted.version).toBe(2n);
    expect(deleted.deleteTime).toBeDefined();
    expect((await codeOf(t.data.getItem({ id: created.id }))).code).toBe(Code.NotFound);
    expect((await codeOf(t.data.getItem({ id: created.id, nocache: true }))).code).toBe(Code.NotFound);
    expect((await codeOf(t.data.updateItem({ item: { id: created.id, name: "x" }, updateMask: mask("name") }))).code).toBe(Code.NotFound);
    const again = (await t.data.deleteItem({ id: created.id, expectedVersion: 1n })).item!;
    expect(again).toEqual(deleted);
    const { rows } = await t.pool.query("SELECT deleted_at IS NOT NULL AS deleted FROM items WHERE id = $1", [created.id]);
    expect(rows).toEqual([{ deleted: true }]);

    const restored = (await t.data.undeleteItem({ id: created.id })).item!;
    expect(restored.version).toBe(3n);
    expect(restored.deleteTime).toBeUndefined();
    expect((await t.data.getItem({ id: created.id })).item).toEqual(restored);
    expect((await t.data.undeleteItem({ id: created.id })).item).toEqual(restored);
  });

  it("answers NotFound for unknown ids", async () => {
    const id = crypto.randomUUID();
    for (const call of [
      () => t.data.getItem({ id }),
      () => t.data.getItem({ id, nocache: true }),
      () => t.data.deleteItem({ id }),
      () => t.data.undeleteItem({ id }),
      () => t.data.updateItem({ item: { id, name: "x" }, updateMask: mask("name") }),
      () => t.data.getUser({ id }),
    ]) {
      expect((await codeOf(call)).code).toBe(Code.NotFound);
    }
  });
});

describe("idempotency", () => {
  const request = (name: string) => ({ item: { name, value: fromJson(ValueSchema, { x: [1, 2] }), metadata: { b: 2, a: 1 } } });

  it("returns the first result for the same key and request, by header or by field", async () => {
    const key = crypto.randomUUID();
    const first = (await t.data.createItem(request("idem"), { headers: { "idempotency-key": key } })).item!;
    // The header and the field are equivalent; key order inside metadata does not make another request.
    const second = (await t.data.createItem({ ...request("idem"), item: { ...request("idem").item, metadata: { a: 1, b: 2 } }, idempotencyKey: key })).item!;
    expect(second).toEqual(first);
    await t.data.updateItem({ item: { id: first.id, name: "changed later" }, updateMask: mask("name") });
    const third = (await t.dataConnect.createItem(request("idem"), { headers: { "idempotency-key": key } })).item!;
    expect(third).toEqual(first);
    const { rows } = await t.pool.query("SELECT count(*)::int AS n FROM items WHERE id = $1 OR name = 'idem'", [first.id]);
    expect(rows[0].n).toBe(1);
  });

  it("rejects the same key with a different request as AlreadyExists", async () => {
    const key = crypto.randomUUID();
    await t.data.createItem(request("one"), { headers: { "idempotency-key": key } });
    const reused = await codeOf(t.data.createItem(request("two"), { headers: { "idempotency-key": key } }));
    expect(reused.code).toBe(Code.AlreadyExists);
    expect(reused.message).toContain("idempotency key");
  });

  it("lets the header win over the field", async () => {
    const header = crypto.randomUUID();
    const first = (await t.data.createItem({ ...request("h"), idempotencyKey: "field-a" }, { headers: { "idempotency-key": header } })).item!;
    const second = (await t.data.createItem({ ...request("h"), idempotencyKey: "field-b" }, { headers: { "idempotency-key": header } })).item!;
    expect(second.id).toBe(first.id);
  });

  it("creates once when many identical requests with one key race", async () => {
    const key = crypto.randomUUID();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => t.data.createItem(request("raced"), { headers: { "idempotency-key": key } })),
    );
    expect(new Set(results.map((r) => r.item!.id)).size).toBe(1);
    const { rows } = await t.pool.query("SELECT count(*)::int AS n FROM items WHERE name = 'raced'");
    expect(rows[0].n).toBe(1);
  });

  it("forgets keys after IDEMPOTENCY_TTL_SECONDS", async () => {
    const key = crypto.randomUUID();
    const first = (await t.data.createItem(request("ttl"), { headers: { "idempotency-key": key } })).item!;
    await t.pool.query("UPDATE idempotency_keys SET created_at = now() - interval '2 days' WHERE key = $1", [`CreateItem:${key}`]);
    const second = (await t.data.createItem(request("ttl"), { headers: { "idempotency-key": key } })).item!;
    expect(second.id).not.toBe(first.id);
  });
});

describe("audit log and outbox", () => {
  it("writes the row, an audit row and an outbox event per write, with request id, actor and traceparent", async () => {
    const headers = {
      "x-request-id": "req-audit-1",
      "x-actor": "alice",
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    };
    const created = (await t.data.createItem({ item: { name: "audited" } }, { headers })).item!;
    await t.data.updateItem({ item: { id: created.id, name: "audited 2" }, updateMask: mask("name") }, { headers });
    await t.data.deleteItem({ id: created.id }, { headers });
    await t.data.undeleteItem({ id: created.id }, { headers: { "x-request-id": "req-audit-2" } });

    const audit = await t.pool.query(
      "SELECT action, old_value, new_value, request_id, actor FROM audit_log WHERE entity_id = $1 ORDER BY id",
      [created.id],
    );
    expect(audit.rows.map((r) => [r.action, r.request_id, r.actor])).toEqual([
      ["create", "req-audit-1", "alice"],
      ["update", "req-audit-1", "alice"],
      ["delete", "req-audit-1", "alice"],
      ["undelete", "req-audit-2", "anonymous"],
    ]);
    expect(audit.rows[0].old_value).toBeNull();
    expect(audit.rows[0].new_value).toMatchObject({ name: "audited", version: "1" });
    expect(audit.rows[1].old_value).toMatchObject({ name: "audited", version: "1" });
    expect(audit.rows[1].new_value).toMatchObject({ name: "audited 2", version: "2" });

    const outbox = await t.pool.query("SELECT topic, payload, trace_context FROM outbox WHERE aggregate_id = $1 ORDER BY id", [created.id]);
    expect(outbox.rows.map((r) => r.topic)).toEqual(["item.created", "item.updated", "item.deleted", "item.updated"]);
    expect(outbox.rows[2].payload).toMatchObject({ type: "item.deleted", action: "delete", item: { id: created.id, version: "3" } });
    // The same trace as the caller's, with the server span as parent.
    expect(outbox.rows[0].trace_context.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  });

  it("writes nothing when a write fails", async () => {
    const created = (await t.data.createItem({ item: { name: "atomic" } })).item!;
    await codeOf(t.data.updateItem({ item: { id: created.id, name: "x" }, updateMask: mask("name"), expectedVersion: 9n }));
    const { rows } = await t.pool.query("SELECT count(*)::int AS n FROM audit_log WHERE entity_id = $1", [created.id]);
    expect(rows[0].n).toBe(1);
  });
});

describe("users", () => {
  it("creates, reads and lists users newest first; emails are unique ignoring case", async () => {
    const ada = (await t.data.createUser({ user: { email: "Ada@Example.com", name: "Ada" } })).user!;
    expect(ada).toMatchObject({ email: "Ada@Example.com", name: "Ada" });
    const dup = await codeOf(t.data.createUser({ user: { email: "ada@EXAMPLE.com", name: "Other" } }));
    expect(dup.code).toBe(Code.AlreadyExists);
    expect(dup.message).not.toMatch(/users_email|INSERT|duplicate key/);
    const created = [ada];
    for (let i = 0; i < 6; i++) created.push((await t.data.createUser({ user: { email: `user${i}@example.com`, name: `User ${i}` } })).user!);
    expect((await t.data.getUser({ id: ada.id })).user).toEqual(ada);

    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await t.data.listUsers({ pageSize: 4, pageToken });
      expect(page.totalSize).toBe(7n);
      seen.push(...page.users.map((u) => u.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(seen).toEqual(created.map((u) => u.id).reverse());
  });
});

describe("ListItems", () => {
  let seeded: Item[];
  beforeAll(async () => {
    await t.pool.query("DELETE FROM items");
    seeded = [];
    // 1,000 items through the API, 25 at a time.
    for (let batch = 0; batch < 40; batch++) {
      const created = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          t.data.createItem({
            item: { name: `item-${String(batch * 25 + i).padStart(4, "0")}`, status: i % 5 === 0 ? ItemStatus.ARCHIVED : ItemStatus.ACTIVE },
          }),
        ),
      );
      seeded.push(...created.map((r) => r.item!));
    }
  }, 120_000);

  async function listAll(
    request: { orderBy?: ItemOrderBy; descending?: boolean; status?: ItemStatus; nocache?: boolean },
    pageSize: number,
    between?: () => Promise<void>,
  ): Promise<{ ids: string[]; items: Item[]; totals: bigint[] }> {
    const items: Item[] = [];
    const totals: bigint[] = [];
    let pageToken = "";
    do {
      const page = await t.data.listItems({ ...request, pageSize, pageToken });
      items.push(...page.items);
      totals.push(page.totalSize);
      pageToken = page.nextPageToken;
      await between?.();
    } while (pageToken !== "");
    return { ids: items.map((i) => i.id), items, totals };
  }

  it.each([
    { orderBy: ItemOrderBy.CREATE_TIME, descending: false, nocache: false },
    { orderBy: ItemOrderBy.NAME, descending: true, nocache: true },
    { orderBy: ItemOrderBy.UPDATE_TIME, descending: false, nocache: false },
  ])("pages over 1,000 items while others are inserted: no duplicates, no skips (%o)", async (request) => {
    let inserted = 0;
    const insertWhileListing = async () => {
      await Promise.all(
        Array.from({ length: 5 }, () => t.data.createItem({ item: { name: `item-${String(inserted++ % 1000).padStart(4, "0")}-new` } })),
      );
    };
    const { ids, items } = await listAll(request, 37, insertWhileListing);
    expect(new Set(ids).size).toBe(ids.length);
    const listed = new Set(ids);
    for (const item of seeded) expect(listed.has(item.id)).toBe(true);
    expect(inserted).toBeGreaterThan(100);

    const sortKey = (item: Item) =>
      request.orderBy === ItemOrderBy.NAME ? item.name : request.orderBy === ItemOrderBy.UPDATE_TIME ? item.updateTime! : item.createTime!;
    for (let i = 1; i < items.length; i++) {
      const a = sortKey(items[i - 1]!);
      const b = sortKey(items[i]!);
      if (typeof a === "string" && typeof b === "string") {
        expect(Buffer.compare(Buffer.from(a), Buffer.from(b)) * (request.descending ? -1 : 1)).toBeLessThanOrEqual(0);
      } else if (typeof a !== "string" && typeof b !== "string") {
        const ta = a.seconds * 1_000_000_000n + BigInt(a.nanos);
        const tb = b.seconds * 1_000_000_000n + BigInt(b.nanos);
        expect(request.descending ? ta >= tb : ta <= tb).toBe(true);
      }
    }
    await t.pool.query("DELETE FROM items WHERE name LIKE '%-new'");
    // Rows changed behind the service's back: leave its cached list pages behind.
    await t.redis.incr(t.backend.cache.keys.generation("items"));
  }, 120_000);

  it("filters by status and reports the total over all pages", async () => {
    const archived = await listAll({ status: ItemStatus.ARCHIVED }, 100);
    expect(archived.ids).toHaveLength(200);
    expect(archived.items.every((i) => i.status === ItemStatus.ARCHIVED)).toBe(true);
    expect(new Set(archived.totals)).toEqual(new Set([200n]));
    const all = await t.data.listItems({ pageSize: 1 });
    expect(all.totalSize).toBe(1000n);
    expect(all.items).toHaveLength(1);
  });

  it("defaults to 50 per page, hides deleted items and accepts pages of 1,000", async () => {
    expect((await t.data.listItems({})).items).toHaveLength(50);
    const big = await t.data.listItems({ pageSize: 1000, nocache: true });
    expect(big.items).toHaveLength(1000);
    expect(big.nextPageToken).toBe("");
    await t.data.deleteItem({ id: seeded[0]!.id });
    const after = await t.data.listItems({ pageSize: 1000 });
    expect(after.totalSize).toBe(999n);
    expect(after.items.map((i) => i.id)).not.toContain(seeded[0]!.id);
    await t.data.undeleteItem({ id: seeded[0]!.id });
  });

  it("refuses a page token used with another filter or order", async () => {
    const first = await t.data.listItems({ pageSize: 10, orderBy: ItemOrderBy.NAME });
    for (const other of [
      { orderBy: ItemOrderBy.CREATE_TIME },
      { orderBy: ItemOrderBy.NAME, descending: true },
      { orderBy: ItemOrderBy.NAME, status: ItemStatus.ACTIVE },
    ]) {
      const failure = await codeOf(t.data.listItems({ pageSize: 10, pageToken: first.nextPageToken, ...other }));
      expect(failure.code).toBe(Code.InvalidArgument);
      expect(failure.message).toMatch(/^page_token: /);
    }
    const users = await codeOf(t.data.listUsers({ pageToken: first.nextPageToken }));
    expect(users.code).toBe(Code.InvalidArgument);
    // The page size may change between pages.
    expect((await t.data.listItems({ pageSize: 3, pageToken: first.nextPageToken, orderBy: ItemOrderBy.NAME })).items).toHaveLength(3);
  });
});

describe("errors", () => {
  it.each([
    ['{"item":{"name":"x","value":{bad json'],
    ['{"item":{"name":"x","value":NaN}}'],
    ['{"item":{"name":"x","metadata":[1,2]}}'],
  ])("answers invalid JSON in a Connect request (%s) with InvalidArgument", async (body) => {
    const res = await fetch(`${t.backend.url}/mesh.data.v1.DataService/CreateItem`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(400);
    const error = (await res.json()) as { code: string; message: string };
    expect(error.code).toBe("invalid_argument");
    expect(error.message).not.toMatch(/\n\s+at |\.ts:\d/);
  });

  it("never shows SQL or a stack to the client", async () => {
    const created = (await t.data.createItem({ item: { name: "before the break" } })).item!;
    await t.pool.query("ALTER TABLE items RENAME COLUMN metadata TO metadata_moved");
    try {
      for (const call of [
        () => t.data.createItem({ item: { name: "x" } }),
        () => t.data.getItem({ id: created.id, nocache: true }),
        () => t.data.listItems({ nocache: true }),
      ]) {
        const failure = await codeOf(call);
        expect(failure.code).toBe(Code.Internal);
        expect(failure.message).toBe("internal error");
      }
    } finally {
      await t.pool.query("ALTER TABLE items RENAME COLUMN metadata_moved TO metadata");
    }
    expect(t.logs.some((line) => line.msg === "rpc failed")).toBe(true);
  });
});
