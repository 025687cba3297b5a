import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../../lib/logging/create-logger.ts";
import { createTestRedis, type TestRedis } from "../../../../test/test-redis.ts";
import { createWebhookHandler, webhookMessageType } from "./handlers/webhook-handler.ts";
import { createQueueEngine, type EnqueueInput, type QueueEngine } from "./queue-engine.ts";
import { createWorkerRuntime, PermanentError, type MessageHandler, type WorkerRuntime } from "./worker-runtime.ts";

const logger = createLogger({ service: "test", instance: "test", level: "silent" });
let kv: TestRedis;
const runtimes: WorkerRuntime[] = [];

beforeAll(async () => {
  kv = await createTestRedis("workers");
});
afterAll(async () => {
  await Promise.all(runtimes.map((r) => r.stop(0)));
  await kv.deleteKeysAndQuit();
});

function engine(): QueueEngine {
  return createQueueEngine(kv.redis, { keyPrefix: `${kv.prefix}${crypto.randomUUID().slice(0, 8)}:`, retry: { baseMs: 10, capMs: 10, jitter: 0 } });
}

const msg = (fields: Partial<EnqueueInput> = {}): EnqueueInput => ({
  type: "job",
  payloadJson: "{}",
  priority: 2,
  delayMs: 0,
  maxAttempts: 3,
  traceContext: {},
  ...fields,
});

function start(q: QueueEngine, handlers: Record<string, MessageHandler>, options: { concurrency?: number; timeoutMs?: number } = {}): WorkerRuntime {
  const runtime = createWorkerRuntime(q, [{ queue: "jobs", handlers }], { logger, pollMs: 100, ...options });
  runtimes.push(runtime);
  runtime.start();
  return runtime;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}

const settled = (q: QueueEngine, acked: number, dead = 0) =>
  until(async () => {
    const s = await q.stats("jobs");
    return s.totals.acked === acked && s.dead === dead;
  });

describe("worker runtime", () => {
  it("never runs more than `concurrency` messages at once", async () => {
    const q = engine();
    await q.enqueue("jobs", Array.from({ length: 20 }, () => msg()));
    let running = 0;
    let most = 0;
    start(q, {
      async job() {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
      },
    }, { concurrency: 3 });
    await settled(q, 20);
    expect(most).toBe(3);
  });

  it("retries a failure, dead-letters a permanent one or an unknown type at once", async () => {
    const q = engine();
    await q.enqueue("jobs", [msg({ id: "flaky" }), msg({ id: "poison" }), msg({ id: "stranger", type: "unknown" })]);
    const seen: string[] = [];
    start(q, {
      async job(m) {
        seen.push(`${m.id}#${m.attempts}`);
        if (m.id === "poison") throw new PermanentError("cannot parse");
        if (m.attempts === 1) throw new Error("try again");
      },
    });
    await settled(q, 1, 2);
    expect(seen.sort()).toEqual(["flaky#1", "flaky#2", "poison#1"]);
    const dead = await q.listDeadLetters("jobs", 10);
    expect(Object.fromEntries(dead.items.map((d) => [d.message.id, d.message.lastError]))).toEqual({
      poison: "PermanentError: cannot parse",
      stranger: 'PermanentError: no handler for message type "unknown"',
    });
  });

  it("aborts a handler at its timeout and nacks the message, even when the handler ignores the signal", async () => {
    const q = engine();
    await q.enqueue("jobs", [msg({ id: "slow", maxAttempts: 1 })]);
    let signal: AbortSignal | undefined;
    start(q, {
      job(_, s) {
        signal = s;
        return new Promise(() => {});
      },
    }, { timeoutMs: 200 });
    await settled(q, 0, 1);
    expect(signal?.aborted).toBe(true);
    expect((await q.listDeadLetters("jobs", 1)).items[0]?.message.lastError).toMatch(/^TimeoutError: timed out after 200 ms/);
  });

  it("on shutdown finishes what ends within the grace period and gives the rest back unattempted", async () => {
    const q = engine();
    await q.enqueue("jobs", [msg({ id: "quick" }), msg({ id: "stuck", type: "stuck" })]);
    let started = 0;
    const runtime = start(q, {
      async job() {
        started++;
        await new Promise((r) => setTimeout(r, 100));
      },
      stuck(_, signal) {
        started++;
        return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
      },
    });
    await until(async () => started === 2);
    expect(await runtime.stop(1000)).toEqual({ finished: 1, released: 1 });
    const s = await q.stats("jobs");
    expect(s).toMatchObject({ inFlight: 0, readyMedium: 1, dead: 0 });
    expect(s.totals.acked).toBe(1);
    const [back] = await q.lease("jobs", { max: 1 });
    expect(back?.message).toMatchObject({ id: "stuck", attempts: 1 });
  });
});

describe("webhook handler", () => {
  let server: http.Server;
  let url: string;
  const requests: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let statuses: number[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        requests.push({ headers: req.headers, body });
        res.statusCode = statuses.shift() ?? 200;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("POSTs the payload with the message id and trace context; retries 5xx, dead-letters other 4xx", async () => {
    const q = engine();
    statuses = [503, 200, 400];
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    await q.enqueue("jobs", [msg({ id: "hook-1", type: webhookMessageType, payloadJson: '{"order":42}', traceContext: { traceparent } })]);
    start(q, { [webhookMessageType]: createWebhookHandler({ url, timeoutMs: 2000 }) }, { concurrency: 1 });
    await settled(q, 1);
    expect(requests.map((r) => r.headers["x-mesh-attempt"])).toEqual(["1", "2"]);
    expect(requests[1]).toMatchObject({ body: '{"order":42}', headers: { "x-mesh-message-id": "hook-1", traceparent, "content-type": "application/json" } });

    await q.enqueue("jobs", [msg({ id: "hook-2", type: webhookMessageType })]);
    await settled(q, 1, 1);
    expect((await q.listDeadLetters("jobs", 1)).items[0]?.message.lastError).toBe("PermanentError: the webhook answered HTTP 400");
  });
});
