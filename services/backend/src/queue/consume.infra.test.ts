import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { createClient, createRouterTransport, type Client } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NewMessageSchema, QueueService, type ConsumeResponse } from "../../../../gen/mesh/queue/v1/queue_pb.ts";
import { createErrorInterceptor } from "../../../../lib/errors/error-interceptor.ts";
import { createLogger } from "../../../../lib/logging/create-logger.ts";
import { infraUrls } from "../../../../test/infra-context.ts";
import { createTestRedis, type TestRedis } from "../../../../test/test-redis.ts";
import { readQueueConfig } from "./queue-config.ts";
import { createQueueModule, type QueueModule } from "./queue-module.ts";

const logger = createLogger({ service: "test", instance: "test", level: "silent" });
let kv: TestRedis;
let pool: pg.Pool;
const modules: QueueModule[] = [];

/** A queue module as one backend has it (no relay, no workers), with an in-process client. */
function backend(prefix: string): Client<typeof QueueService> {
  const config = readQueueConfig({
    QUEUE_KEY_PREFIX: prefix,
    OUTBOX_RELAY_ENABLED: "false",
    QUEUE_WORKERS_ENABLED: "false",
    QUEUE_RETRY_BASE_MS: "1",
    QUEUE_RETRY_JITTER: "0",
  });
  const module = createQueueModule({ redis: kv.redis, pool, logger, config });
  modules.push(module);
  const transport = createRouterTransport((router) => router.service(QueueService, module.service), {
    router: { interceptors: [createErrorInterceptor(logger)] },
  });
  return createClient(QueueService, transport);
}

beforeAll(async () => {
  kv = await createTestRedis("consume");
  pool = new pg.Pool({ connectionString: infraUrls().databaseUrl, max: 1 });
});
afterAll(async () => {
  await Promise.all(modules.map((m) => m.stop(0)));
  await pool.end();
  await kv.deleteKeysAndQuit();
});

/** Reads a stream in the background; `next()` resolves with the next message. */
function reader(stream: AsyncIterable<ConsumeResponse>) {
  const received: ConsumeResponse[] = [];
  const waiting: Array<() => void> = [];
  const done = (async () => {
    for await (const res of stream) {
      received.push(res);
      waiting.splice(0).forEach((wake) => wake());
    }
  })().catch(() => {});
  let taken = 0;
  return {
    received,
    done,
    async next(): Promise<ConsumeResponse> {
      while (received.length <= taken) await new Promise<void>((resolve) => waiting.push(resolve));
      return received[taken++]!;
    },
  };
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
}

const messages = (n: number) => Array.from({ length: n }, (_, i) => create(NewMessageSchema, { type: "t", id: `m${i}` }));

describe("Consume stream flow control", () => {
  it("holds at most max_in_flight unacknowledged messages; each ack or nack lets one more through", async () => {
    const client = backend(`${kv.prefix}a:`);
    await client.batchEnqueue({ queue: "q", messages: messages(10) });
    const controller = new AbortController();
    const stream = reader(client.consume({ queue: "q", maxInFlight: 3 }, { signal: controller.signal }));
    const first = [await stream.next(), await stream.next(), await stream.next()];
    await settle();
    expect(stream.received).toHaveLength(3);
    expect((await client.getQueueStats({ queue: "q" })).stats?.inFlight).toBe(3n);

    await client.ack({ queue: "q", leaseTokens: [first[0]!.message!.leaseToken] });
    const fourth = await stream.next();
    expect(fourth.message?.message?.id).toBe("m3");
    await settle();
    expect(stream.received).toHaveLength(4);

    await client.nack({ queue: "q", leaseTokens: [first[1]!.message!.leaseToken], retryDelay: durationFromMs(60_000) });
    expect((await stream.next()).message?.message?.id).toBe("m4");
    await settle();
    expect(stream.received).toHaveLength(5);
    controller.abort();
    await stream.done;
  });

  it("frees a slot when the ack goes through another backend", async () => {
    const prefix = `${kv.prefix}b:`;
    const streaming = backend(prefix);
    const other = backend(prefix);
    await streaming.batchEnqueue({ queue: "q", messages: messages(3) });
    const controller = new AbortController();
    const stream = reader(streaming.consume({ queue: "q", maxInFlight: 1 }, { signal: controller.signal }));
    const first = await stream.next();
    await other.ack({ queue: "q", leaseTokens: [first.message!.leaseToken] });
    expect((await stream.next()).message?.message?.id).toBe("m1");
    controller.abort();
    await stream.done;
  });

  it("frees the slot of a lease that expired and delivers the message again", async () => {
    const client = backend(`${kv.prefix}c:`);
    await client.batchEnqueue({ queue: "q", messages: messages(1) });
    const controller = new AbortController();
    const stream = reader(client.consume({ queue: "q", maxInFlight: 1, visibilityTimeout: durationFromMs(1000) }, { signal: controller.signal }));
    const first = await stream.next();
    const again = await stream.next();
    expect(again.message?.message?.id).toBe(first.message?.message?.id);
    expect(again.message?.message?.attempts).toBe(2);
    expect(again.message?.leaseToken).not.toBe(first.message?.leaseToken);
    controller.abort();
    await stream.done;
  }, 15_000);

  it("ends every stream when the module stops", async () => {
    const client = backend(`${kv.prefix}d:`);
    const stream = reader(client.consume({ queue: "idle", maxInFlight: 1 }));
    await settle();
    await modules.at(-1)!.stop(0);
    await stream.done;
    expect(stream.received).toEqual([]);
  });
});
