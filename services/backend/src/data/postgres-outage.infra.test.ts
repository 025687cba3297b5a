import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startLocalPostgres, type LocalPostgres } from "../../../../lib/infra/local-postgres.ts";
import { infraUrls } from "../../../../test/infra-context.ts";
import { createTempDir } from "../../../../test/temp-dir.ts";
import { startTestBackend, type TestBackend } from "./test-backend.ts";

let dir: { path: string; remove(): Promise<void> };
let postgres: LocalPostgres;
let t: TestBackend;

beforeAll(async () => {
  dir = await createTempDir("postgres-outage");
  postgres = await startLocalPostgres({ dir: `${dir.path}/postgres` });
  t = await startTestBackend({
    databaseUrl: postgres.url,
    redisUrl: infraUrls().redisUrl,
    label: "postgres-outage",
    env: { DB_BREAKER_HALF_OPEN_MS: "300", DB_BREAKER_THRESHOLD: "3" },
  });
});

afterAll(async () => {
  await t?.stop();
  await postgres?.stop();
  await dir?.remove();
});

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

async function circuitOpen(): Promise<number> {
  const { values } = await t.backend.service.registry.getSingleMetric("dependency_circuit_open")!.get();
  return values.find((v) => v.labels.dependency === "database")?.value ?? -1;
}

describe("with PostgreSQL stopped", () => {
  it("fails writes with Unavailable before their deadline, serves cached reads, and recovers after a restart", async () => {
    const item = (await t.data.createItem({ item: { name: "kept in cache" } })).item!;
    await t.data.getItem({ id: item.id });
    const page = await t.data.listItems({});

    await postgres.stop();
    for (let i = 0; i < 5; i++) {
      // Unavailable, not DeadlineExceeded: the call ended well before its 10 s deadline.
      const write = await failure(t.data.createItem({ item: { name: `lost ${i}` } }, { timeoutMs: 10_000 }));
      expect(write.code).toBe(Code.Unavailable);
      expect(write.rawMessage).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres/i);
    }
    expect(await circuitOpen()).toBe(1);
    expect(await t.data.getItem({ id: item.id })).toMatchObject({ cached: true, item });
    expect(await t.data.listItems({})).toEqual(page);
    expect((await failure(t.data.getItem({ id: item.id, nocache: true }, { timeoutMs: 10_000 }))).code).toBe(Code.Unavailable);
    expect((await failure(t.data.getItem({ id: crypto.randomUUID() }, { timeoutMs: 10_000 }))).code).toBe(Code.Unavailable);

    await postgres.start();
    const recovered = await vi.waitFor(() => t.data.createItem({ item: { name: "after the restart" } }), { timeout: 20_000, interval: 200 });
    expect(recovered.item!.version).toBe(1n);
    expect((await t.data.getItem({ id: recovered.item!.id, nocache: true })).item).toEqual(recovered.item);
    expect(await circuitOpen()).toBe(0);
    const { rows } = await t.pool.query("SELECT count(*)::int AS n FROM items WHERE name LIKE 'lost %'");
    expect(rows[0].n).toBe(0);
  }, 60_000);
});
