import { create } from "@bufbuild/protobuf";
import { durationFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NewMessageSchema, Priority, PurgeScope, QueueService } from "../../../../gen/mesh/queue/v1/queue_pb.ts";
import { createLogger } from "../../../../lib/logging/create-logger.ts";
import { startMeshService, type MeshService } from "../../../../lib/server/start-mesh-service.ts";
import { startTelemetry, type Telemetry } from "../../../../lib/telemetry/start-telemetry.ts";
import { infraUrls } from "../../../../test/infra-context.ts";
import { createTestRedis, type TestRedis } from "../../../../test/test-redis.ts";
import { readQueueConfig } from "./queue-config.ts";
import { createQueueModule, type QueueModule } from "./queue-module.ts";

const logger = createLogger({ service: "test", instance: "test", level: "silent" });
let kv: TestRedis;
let pool: pg.Pool;
let telemetry: Telemetry;
let queue: QueueModule;
let mesh: MeshService;
let sessions: Http2SessionManager;
let client: Client<typeof QueueService>;

beforeAll(async () => {
  telemetry = await startTelemetry({ serviceName: "queue-test", instanceId: "queue-test", version: "0", ratio: 1 });
  kv = await createTestRedis("queue-module");
  pool = new pg.Pool({ connectionString: infraUrls().databaseUrl, max: 1 });
  const config = readQueueConfig({ QUEUE_KEY_PREFIX: kv.prefix, OUTBOX_RELAY_ENABLED: "false", QUEUE_PAYLOAD_LIMIT_BYTES: "2048" });
  queue = createQueueModule({ redis: kv.redis, pool, logger, config });
  mesh = await startMeshService({
    service: "backend",
    instanceId: "queue-test",
    version: "0",
    host: "127.0.0.1",
    port: 0,
    logger,
    routes: (router) => router.service(QueueService, queue.service),
  });
  queue.registerMetrics(mesh.registry);
  queue.start();
  sessions = new Http2SessionManager(mesh.server.url);
  client = createClient(QueueService, createGrpcTransport({ baseUrl: mesh.server.url, sessionManager: sessions }));
});

afterAll(async () => {
  sessions?.abort();
  await queue?.stop(1000);
  await mesh?.drain(1000);
  await pool?.end();
  await kv?.deleteKeysAndQuit();
  await telemetry?.shutdown();
});

const traceId = "0af7651916cd43dd8448eb211c80319c";

describe("QueueService on a real server (gRPC over HTTP/2)", () => {
  it("carries the producer's W3C trace context to the consumer", async () => {
    const headers = { traceparent: `00-${traceId}-b7ad6b7169203331-01` };
    const { message } = await client.enqueue(
      { queue: "orders", message: { type: "order.placed", payload: create(ValueSchema, { kind: { case: "stringValue", value: "hi" } }), priority: Priority.HIGH } },
      { headers },
    );
    expect(message?.traceContext.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const { messages } = await client.lease({ queue: "orders", maxMessages: 10, consumer: "test" });
    expect(messages).toHaveLength(1);
    expect(messages[0]?.message?.traceContext.traceparent).toBe(message?.traceContext.traceparent);
    expect(messages[0]?.message?.payload?.kind).toEqual({ case: "stringValue", value: "hi" });
    expect((await client.ack({ queue: "orders", leaseTokens: [messages[0]!.leaseToken] })).acknowledgedCount).toBe(1);
  });

  it("long-polls a Lease until a message is enqueued", async () => {
    const leasing = client.lease({ queue: "orders", waitTime: durationFromMs(20_000) });
    await new Promise((r) => setTimeout(r, 200));
    await client.batchEnqueue({ queue: "orders", messages: [create(NewMessageSchema, { type: "late" })] });
    const { messages } = await leasing;
    expect(messages.map((m) => m.message?.type)).toEqual(["late"]);
    await client.ack({ queue: "orders", leaseTokens: messages.map((m) => m.leaseToken) });
  });

  it("streams with Consume and takes acks by RPC", async () => {
    await client.batchEnqueue({ queue: "stream", messages: Array.from({ length: 25 }, (_, i) => create(NewMessageSchema, { type: "t", id: `s${i}` })) });
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const res of client.consume({ queue: "stream", maxInFlight: 4 }, { signal: controller.signal })) {
      seen.push(res.message!.message!.id);
      await client.ack({ queue: "stream", leaseTokens: [res.message!.leaseToken] });
      if (seen.length === 25) break;
    }
    controller.abort();
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `s${i}`));
  });

  it("rejects a stale token with FAILED_PRECONDITION and an oversized payload with RESOURCE_EXHAUSTED", async () => {
    await client.enqueue({ queue: "stale", message: { type: "t" } });
    const { messages } = await client.lease({ queue: "stale", visibilityTimeout: durationFromMs(1000) });
    const token = messages[0]!.leaseToken;
    await client.nack({ queue: "stale", leaseTokens: [token], retryDelay: durationFromMs(0) });
    const err = await client.ack({ queue: "stale", leaseTokens: [token] }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.FailedPrecondition);

    const big = create(ValueSchema, { kind: { case: "stringValue", value: "x".repeat(3000) } });
    const tooBig = await client.enqueue({ queue: "stale", message: { type: "t", payload: big } }).catch((e: unknown) => ConnectError.from(e));
    expect((tooBig as ConnectError).code).toBe(Code.ResourceExhausted);
  });

  it("lists queues, stats, dead letters; redrives and purges", async () => {
    await client.enqueue({ queue: "dlq", message: { type: "t", id: "doomed", maxAttempts: 1 } });
    const { messages } = await client.lease({ queue: "dlq" });
    await client.nack({ queue: "dlq", leaseTokens: [messages[0]!.leaseToken], error: "bad input" });
    const dead = await client.listDeadLetters({ queue: "dlq" });
    expect(dead.totalSize).toBe(1n);
    expect(dead.deadLetters[0]?.message).toMatchObject({ id: "doomed", lastError: "bad input", attempts: 1 });
    expect((await client.redriveDeadLetters({ queue: "dlq" })).redrivenCount).toBe(1n);
    expect((await client.getQueueStats({ queue: "dlq" })).stats).toMatchObject({ readyMedium: 1n, dead: 0n });
    expect((await client.purgeQueue({ queue: "dlq", scope: PurgeScope.ALL })).purgedCount).toBe(1n);
    const names = (await client.listQueues({})).queues.map((q) => q.queue);
    expect(names).toEqual(expect.arrayContaining(["dlq", "orders", "stream"]));
    const missing = await client.getQueueStats({ queue: "never-used" }).catch((e: unknown) => ConnectError.from(e));
    expect((missing as ConnectError).code).toBe(Code.NotFound);
  });

  it("exposes queue metrics at /metrics", async () => {
    await client.enqueue({ queue: "metered", message: { type: "t", priority: Priority.LOW } });
    const text = await (await fetch(`${mesh.server.url}/metrics`)).text();
    expect(text).toMatch(/^queue_size\{queue="metered",priority="low"[^}]*\} 1$/m);
    expect(text).toMatch(/^queue_enqueued_total\{queue="metered"[^}]*\} 1$/m);
    expect(text).toMatch(/^queue_acked_total\{queue="orders"[^}]*\} 2$/m);
    expect(text).toMatch(/^queue_lease_latency_seconds_count\{[^}]*queue="orders"[^}]*\} 2$/m);
  });
});
