import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../../../lib/db/migrate.ts";
import { createLogger } from "../../../../lib/logging/create-logger.ts";
import { createTestRedis, type TestRedis } from "../../../../test/test-redis.ts";
import { createTestSchema, type TestSchema } from "../../../../test/test-schema.ts";
import { createDataEventsRecorder, readDataEventsProjection } from "./handlers/data-events-recorder.ts";
import { createOutboxRelay, dataEventsQueue, type DataEvent } from "./outbox-relay.ts";
import { createQueueEngine, type QueueEngine } from "./queue-engine.ts";
import { createWorkerRuntime } from "./worker-runtime.ts";

const logger = createLogger({ service: "test", instance: "test", level: "silent" });
const migrationsDir = fileURLToPath(new URL("../../migrations", import.meta.url));
let db: TestSchema;
let kv: TestRedis;

beforeAll(async () => {
  db = await createTestSchema("outbox-relay");
  await migrate(db.pool, { dir: migrationsDir, schema: db.schema });
  kv = await createTestRedis("outbox-relay");
});
afterAll(async () => {
  await db.drop();
  await kv.deleteKeysAndQuit();
});

const aggregates = ["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"];

/** Writes `n` outbox rows in one committed transaction, as the data service does with its changes. */
async function writeOutbox(n: number): Promise<void> {
  await db.pool.query(
    `INSERT INTO outbox (topic, aggregate_id, payload, trace_context)
     SELECT CASE WHEN i % 2 = 0 THEN 'item.created' ELSE 'item.updated' END,
            ($2::uuid[])[1 + i % 3],
            jsonb_build_object('n', i),
            jsonb_build_object('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')
       FROM generate_series(1, $1) AS i`,
    [n, aggregates],
  );
}

async function unrelayed(): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM outbox WHERE relayed_at IS NULL");
  return Number(rows[0]!.n);
}

/** Leases everything in data-events and acks it; returns the message ids in delivery order. */
async function drain(engine: QueueEngine): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const leased = await engine.lease(dataEventsQueue, { max: 1000 });
    if (leased.length === 0) return ids;
    ids.push(...leased.map((m) => m.message.id));
    await engine.ack(dataEventsQueue, leased.map((m) => m.token));
  }
}

describe("outbox relay", () => {
  it("two backends relay every committed row exactly once, while rows keep arriving", async () => {
    const engine = createQueueEngine(kv.redis, { keyPrefix: `${kv.prefix}two:` });
    const relays = [db.pool, db.createPool()].map((pool) => createOutboxRelay(pool, engine, { logger, batchSize: 40, pollMs: 5 }));
    relays.forEach((r) => r.start());
    for (let i = 0; i < 10; i++) await writeOutbox(60);
    while ((await unrelayed()) > 0) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(relays.map((r) => r.stop()));

    const { rows } = await db.pool.query<{ id: string }>("SELECT id::text AS id FROM outbox ORDER BY id");
    const delivered = await drain(engine);
    expect(delivered).toHaveLength(600);
    expect(new Set(delivered)).toEqual(new Set(rows.map((r) => r.id)));
    expect((await engine.stats(dataEventsQueue)).totals.enqueued).toBe(600);

    const [sample] = await engine.lease(dataEventsQueue, { max: 1 });
    expect(sample).toBeUndefined();
  });

  it("a crash between sending and marking creates no second copy downstream", async () => {
    await db.pool.query("UPDATE outbox SET relayed_at = now() WHERE relayed_at IS NULL");
    const engine = createQueueEngine(kv.redis, { keyPrefix: `${kv.prefix}crash:` });
    const crashing: QueueEngine = {
      ...engine,
      async enqueue(queue, messages) {
        const result = await engine.enqueue(queue, messages);
        throw new Error(`simulated crash after sending ${result.ids.length} messages`);
      },
    };
    await writeOutbox(30);
    await expect(createOutboxRelay(db.pool, crashing, { logger }).relayOnce()).rejects.toThrow(/simulated crash/);
    expect(await unrelayed()).toBe(30);

    // Downstream already processed a third of them before the rows are sent again.
    const early = await engine.lease(dataEventsQueue, { max: 10 });
    await engine.ack(dataEventsQueue, early.map((m) => m.token));

    expect(await createOutboxRelay(db.pool, engine, { logger }).relayOnce()).toBe(30);
    expect(await unrelayed()).toBe(0);
    const rest = await drain(engine);
    expect(rest).toHaveLength(20);
    expect(new Set([...early.map((m) => m.message.id), ...rest]).size).toBe(30);
  });

  it("carries the row's topic, payload, aggregate and trace context; the recorder applies each event once", async () => {
    await db.pool.query("UPDATE outbox SET relayed_at = now() WHERE relayed_at IS NULL");
    const prefix = `${kv.prefix}record:`;
    const engine = createQueueEngine(kv.redis, { keyPrefix: prefix });
    await writeOutbox(9);
    await createOutboxRelay(db.pool, engine, { logger }).relayOnce();

    const [first] = await engine.lease(dataEventsQueue, { max: 1 });
    const event = JSON.parse(first!.message.payloadJson) as DataEvent;
    expect(event).toMatchObject({ outboxId: first!.message.id, topic: first!.message.type, payload: { n: 1 } });
    expect(aggregates).toContain(event.aggregateId);
    expect(first!.message.traceContext.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-/);
    await engine.release(dataEventsQueue, [first!.token]);

    const recorder = createDataEventsRecorder(kv.redis, prefix);
    await recorder(first!.message, AbortSignal.timeout(5000)); // delivered once before the workers run: applied again below, counted once
    const workers = createWorkerRuntime(engine, [{ queue: dataEventsQueue, handlers: {}, fallback: recorder }], { logger, pollMs: 50 });
    workers.start();
    for (;;) {
      const s = await engine.stats(dataEventsQueue);
      if (s.totals.acked === 9) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await workers.stop(1000);

    const projection = readDataEventsProjection(kv.redis, prefix);
    expect(await projection.topicCounts()).toEqual({ "item.created": 4, "item.updated": 5 });
    const { rows } = await db.pool.query<{ id: string }>(
      "SELECT max(id)::text AS id FROM outbox WHERE aggregate_id = $1 AND id > (SELECT max(id) - 9 FROM outbox)",
      [aggregates[0]],
    );
    expect((await projection.latest(aggregates[0]!))?.outboxId).toBe(rows[0]!.id);
  });
});
