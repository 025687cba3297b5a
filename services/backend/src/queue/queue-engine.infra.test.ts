import { Code, ConnectError } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestRedis, type TestRedis } from "../../../../test/test-redis.ts";
import { randomAt, retryDelayMs, type RetryPolicy } from "./backoff.ts";
import { createQueueEngine, type EnqueueInput, type QueueEngine, type QueueEngineOptions } from "./queue-engine.ts";
import { createQueueNotifier, type QueueNotifier } from "./queue-notifier.ts";

let kv: TestRedis;
let clock: number;
let seed: number;
const policy: RetryPolicy = { baseMs: 1000, capMs: 60_000, jitter: 0.5 };

beforeAll(async () => {
  kv = await createTestRedis("queue-engine");
});
afterAll(() => kv.deleteKeysAndQuit());
beforeEach(() => {
  clock = 1_700_000_000_000;
  seed = 0.25;
});

/** An engine on its own key prefix with a fake clock and a fixed random seed. */
function engine(options: QueueEngineOptions = {}): QueueEngine {
  return createQueueEngine(kv.redis, {
    keyPrefix: `${kv.prefix}${crypto.randomUUID().slice(0, 8)}:`,
    now: () => clock,
    random: () => seed,
    retry: policy,
    ...options,
  });
}

const msg = (fields: Partial<EnqueueInput> = {}): EnqueueInput => ({
  type: "t",
  payloadJson: "{}",
  priority: 2,
  delayMs: 0,
  maxAttempts: 3,
  traceContext: {},
  ...fields,
});

async function expectStale(call: Promise<unknown>): Promise<void> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
}

describe("queue engine on Valkey", () => {
  it("leases high before medium before low, and each priority in order", async () => {
    const q = engine();
    await q.enqueue("q", [msg({ id: "low-1", priority: 3 }), msg({ id: "med-1" }), msg({ id: "high-1", priority: 1 }), msg({ id: "high-2", priority: 1 }), msg({ id: "med-2" })]);
    const leased = await q.lease("q", { max: 10 });
    expect(leased.map((m) => m.message.id)).toEqual(["high-1", "high-2", "med-1", "med-2", "low-1"]);
  });

  it("lets low overtake high once it waited twice the aging step longer (fake clock)", async () => {
    const q = engine({ agingMs: 30_000 });
    await q.enqueue("q", [msg({ id: "low", priority: 3 })]);
    clock += 59_000;
    await q.enqueue("q", [msg({ id: "high-a", priority: 1 })]);
    expect((await q.lease("q", { max: 1 }))[0]?.message.id).toBe("high-a");
    clock += 2000;
    await q.enqueue("q", [msg({ id: "high-b", priority: 1 })]);
    expect((await q.lease("q", { max: 2 })).map((m) => m.message.id)).toEqual(["low", "high-b"]);
  });

  it("holds delayed messages until they are due", async () => {
    const q = engine();
    await q.enqueue("q", [msg({ id: "later", delayMs: 5000 }), msg({ id: "now" })]);
    expect((await q.stats("q")).delayed).toBe(1);
    expect((await q.lease("q", { max: 10 })).map((m) => m.message.id)).toEqual(["now"]);
    clock += 4999;
    expect(await q.lease("q", { max: 10 })).toEqual([]);
    clock += 1;
    const [due] = await q.lease("q", { max: 10 });
    expect(due?.message.id).toBe("later");
    expect(due?.message.availableMs).toBe(due!.message.enqueueMs + 5000);
  });

  it("returns an expired lease to the queue and delivers it again with a new token", async () => {
    const q = engine({ retry: { baseMs: 100, capMs: 1000, jitter: 0 } });
    await q.enqueue("q", [msg({ id: "m" })]);
    const [first] = await q.lease("q", { max: 1, visibilityMs: 1000 });
    expect(first?.message.attempts).toBe(1);
    clock += 999;
    expect(await q.lease("q", { max: 1 })).toEqual([]);
    clock += 1;
    expect(await q.lease("q", { max: 1 })).toEqual([]); // expired now, and waiting out its 100 ms backoff
    expect((await q.stats("q")).delayed).toBe(1);
    clock += 100;
    const [second] = await q.lease("q", { max: 1 });
    expect(second?.message.id).toBe("m");
    expect(second?.message.attempts).toBe(2);
    expect(second?.message.lastError).toMatch(/lease expired/);
    expect(second?.token).not.toBe(first?.token);
  });

  it("the reaper returns expired leases without anyone leasing", async () => {
    const q = engine({ retry: { baseMs: 0, capMs: 0, jitter: 0 } });
    await q.enqueue("q", [msg({ id: "m" })]);
    await q.lease("q", { max: 1, visibilityMs: 1000 });
    clock += 1000;
    expect(await q.reap("q")).toEqual({ retried: 1, deadLettered: 0, promoted: 1 });
    expect((await q.stats("q")).readyMedium).toBe(1);
  });

  it("fails a batch with a stale token as a whole, and acks twice without error", async () => {
    const q = engine({ retry: { baseMs: 0, capMs: 0, jitter: 0 } });
    await q.enqueue("q", [msg({ id: "a" }), msg({ id: "b" })]);
    const [a1] = await q.lease("q", { max: 1, visibilityMs: 1000 });
    clock += 1000;
    const leased = await q.lease("q", { max: 2 });
    const a2 = leased.find((m) => m.message.id === "a")!;
    const b = leased.find((m) => m.message.id === "b")!;
    await expectStale(q.ack("q", [a1!.token]));
    await expectStale(q.ack("q", [b.token, a1!.token]));
    expect((await q.stats("q")).inFlight).toBe(2); // b was not acknowledged
    expect(await q.ack("q", [b.token, a2.token])).toBe(2);
    expect(await q.ack("q", [b.token, a2.token])).toBe(0);
    expect((await q.stats("q")).totals.acked).toBe(2);
  });

  it("nacks idempotently, and an ack of a nacked token is stale", async () => {
    const q = engine();
    await q.enqueue("q", [msg({ id: "m" })]);
    const [m] = await q.lease("q", { max: 1 });
    expect(await q.nack("q", [m!.token], { error: "boom" })).toEqual({ retried: 1, deadLettered: 0 });
    expect(await q.nack("q", [m!.token], { error: "boom" })).toEqual({ retried: 0, deadLettered: 0 });
    await expectStale(q.ack("q", [m!.token]));
    await expectStale(q.extend("q", [m!.token], 5000));
  });

  it("retries after exponential backoff with jitter, then dead-letters with the last error (fake clock, fixed random)", async () => {
    const q = engine();
    await q.enqueue("q", [msg({ id: "m", maxAttempts: 4 })]);
    for (let attempt = 1; attempt <= 4; attempt++) {
      clock += 60_000; // past any backoff: the previous retry is due
      const [m] = await q.lease("q", { max: 1 });
      expect(m?.message.attempts).toBe(attempt);
      seed = attempt / 10;
      const result = await q.nack("q", [m!.token], { error: `failure ${attempt}` });
      if (attempt < 4) {
        expect(result).toEqual({ retried: 1, deadLettered: 0 });
        const stored = await q.get("q", "m");
        expect(stored?.availableMs! - clock).toBe(retryDelayMs(attempt, policy, randomAt(seed, 1)));
      } else {
        expect(result).toEqual({ retried: 0, deadLettered: 1 });
      }
    }
    const page = await q.listDeadLetters("q", 10);
    expect(page.total).toBe(1);
    expect(page.items[0]?.message).toMatchObject({ id: "m", attempts: 4, lastError: "failure 4" });
    expect(page.items[0]?.deadLetterMs).toBe(clock);
  });

  it("applies the nack's retry delay and dead_letter flag", async () => {
    const q = engine();
    await q.enqueue("q", [msg({ id: "a" }), msg({ id: "b" })]);
    const [a, b] = await q.lease("q", { max: 2 });
    await q.nack("q", [a!.token], { retryDelayMs: 0 });
    expect((await q.lease("q", { max: 1 }))[0]?.message.id).toBe("a");
    expect(await q.nack("q", [b!.token], { deadLetter: true, error: "poison" })).toEqual({ retried: 0, deadLettered: 1 });
    expect((await q.stats("q")).dead).toBe(1);
  });

  it("redrives dead letters with attempts reset, by id or all", async () => {
    const q = engine();
    await q.enqueue("q", ["a", "b", "c"].map((id) => msg({ id, maxAttempts: 1 })));
    const leased = await q.lease("q", { max: 3 });
    await q.nack("q", leased.map((m) => m.token), { error: "bad" });
    expect((await q.stats("q")).dead).toBe(3);
    expect(await q.redrive("q", ["b", "not-dead"])).toBe(1);
    const [b] = await q.lease("q", { max: 1 });
    expect(b?.message).toMatchObject({ id: "b", attempts: 1, lastError: "bad" });
    expect(await q.redrive("q")).toBe(2);
    expect((await q.stats("q")).dead).toBe(0);
    expect((await q.lease("q", { max: 5 })).map((m) => m.message.id).sort()).toEqual(["a", "c"]);
  });

  it("pages through dead letters oldest first, each once, ties by id", async () => {
    const q = engine();
    const ids = Array.from({ length: 11 }, (_, i) => `m${String(i).padStart(2, "0")}`);
    await q.enqueue("q", ids.map((id) => msg({ id, maxAttempts: 1 })));
    const leased = await q.lease("q", { max: 11 });
    await q.nack("q", leased.slice(0, 7).map((m) => m.token)); // seven dead in the same millisecond
    clock += 5;
    await q.nack("q", leased.slice(7).map((m) => m.token));
    const seen: string[] = [];
    let page = await q.listDeadLetters("q", 3);
    seen.push(...page.items.map((i) => i.message.id));
    while (page.next !== undefined) {
      expect(page.total).toBe(11);
      page = await q.listDeadLetters("q", 3, page.next);
      seen.push(...page.items.map((i) => i.message.id));
    }
    expect(seen).toEqual(ids);
  });

  it("purges what is not leased, by scope", async () => {
    const q = engine();
    await q.enqueue("q", [msg({ id: "leased" }), msg({ id: "dead", maxAttempts: 1 })]);
    const [leased, dead] = await q.lease("q", { max: 2 });
    await q.nack("q", [dead!.token]);
    await q.enqueue("q", [msg({ id: "ready" }), msg({ id: "delayed", delayMs: 10_000 }), msg({ id: "low", priority: 3 })]);
    expect(await q.purge("q", { ready: true, dead: false })).toBe(3);
    expect(await q.purge("q", { ready: false, dead: true })).toBe(1);
    const stats = await q.stats("q");
    expect(stats).toMatchObject({ readyHigh: 0, readyMedium: 0, readyLow: 0, delayed: 0, dead: 0, inFlight: 1 });
    expect(await q.ack("q", [leased!.token])).toBe(1);
  });

  it("does not add a message whose id is queued, leased, dead, or acked within the dedupe window", async () => {
    const q = engine({ dedupeWindowMs: 60_000 });
    expect((await q.enqueue("q", [msg({ id: "x" }), msg({ id: "x" })])).added).toEqual([true, false]);
    const [x] = await q.lease("q", { max: 1 });
    expect((await q.enqueue("q", [msg({ id: "x" })])).added).toEqual([false]);
    await q.ack("q", [x!.token]);
    expect((await q.enqueue("q", [msg({ id: "x" })])).added).toEqual([false]);
    clock += 60_001;
    await q.enqueue("q", [msg({ id: "other" })]);
    const [other] = await q.lease("q", { max: 1 });
    await q.ack("q", [other!.token]); // trims the window
    expect((await q.enqueue("q", [msg({ id: "x" })])).added).toEqual([true]);
    expect((await q.stats("q")).totals.enqueued).toBe(3);
  });

  it("extends a lease so that it does not expire, and only while it is held", async () => {
    const q = engine();
    await q.enqueue("q", [msg({ id: "m" })]);
    const [m] = await q.lease("q", { max: 1, visibilityMs: 1000 });
    clock += 900;
    expect(await q.extend("q", [m!.token], 5000)).toBe(clock + 5000);
    clock += 4000;
    await q.reap("q");
    expect((await q.stats("q")).inFlight).toBe(1);
    await expectStale(q.extend("q", [m!.token, "l00000000_1.m"], 5000));
    expect(await q.ack("q", [m!.token])).toBe(1);
  });

  it("releases a lease back to the head of its list without using an attempt", async () => {
    const q = engine();
    await q.enqueue("q", [msg({ id: "a" }), msg({ id: "b" })]);
    const [a] = await q.lease("q", { max: 1 });
    expect(await q.release("q", [a!.token, a!.token])).toBe(1);
    const [again] = await q.lease("q", { max: 1 });
    expect(again?.message).toMatchObject({ id: "a", attempts: 1 });
  });

  it("enqueues and leases a batch of 1,000 with trace context and payloads intact", async () => {
    const q = engine();
    const traceContext = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
    const batch = Array.from({ length: 1000 }, (_, i) => msg({ payloadJson: JSON.stringify({ i, s: "ünï|cödé" }), traceContext }));
    const { ids, added } = await q.enqueue("q", batch);
    expect(added.every(Boolean)).toBe(true);
    const leased = await q.lease("q", { max: 1000 });
    expect(leased.map((m) => m.message.id)).toEqual(ids);
    expect(JSON.parse(leased[999]!.message.payloadJson)).toEqual({ i: 999, s: "ünï|cödé" });
    expect(leased[0]?.message.traceContext).toEqual(traceContext);
    expect(await q.ack("q", leased.map((m) => m.token))).toBe(1000);
    expect(await q.listQueues()).toEqual(["q"]);
  });

  it("reports depth per priority, delayed, in flight, dead, the oldest ready message and rates", async () => {
    const q = engine();
    await q.enqueue("q", [msg({ priority: 1 }), msg({ priority: 3 }), msg({ priority: 3 }), msg({ delayMs: 1000 })]);
    clock += 1;
    await q.enqueue("q", [msg({ priority: 1, id: "leased" })]);
    await q.enqueue("q", [msg({ priority: 2 })]);
    const stats = await q.stats("q");
    expect(stats).toMatchObject({ readyHigh: 2, readyMedium: 1, readyLow: 2, delayed: 1, inFlight: 0, dead: 0, oldestReadyMs: clock - 1 });
    expect(stats.enqueueRate).toBeGreaterThan(0);
    expect(stats.totals.enqueued).toBe(6);
  });
});

describe("long-poll leases (real time)", () => {
  let subscriber: Redis;
  let notifier: QueueNotifier;
  let q: QueueEngine;

  beforeAll(async () => {
    const prefix = `${kv.prefix}poll:`;
    subscriber = new Redis(kv.redisUrl);
    notifier = createQueueNotifier(subscriber, prefix);
    // Polls rarely, so that a prompt answer means the wake-up worked.
    q = createQueueEngine(kv.redis, { keyPrefix: prefix, waiter: notifier, pollIntervalMs: 20_000 });
  });
  afterAll(() => notifier.close());

  it("waits for a message and returns it once it is enqueued", async () => {
    const leasing = q.lease("wake", { max: 5, waitMs: 15_000 });
    await new Promise((r) => setTimeout(r, 100));
    await q.enqueue("wake", [msg({ id: "arrived" })]);
    expect((await leasing).map((m) => m.message.id)).toEqual(["arrived"]);
  }, 10_000);

  it("wakes when a delayed message becomes due", async () => {
    await q.enqueue("due", [msg({ id: "soon", delayMs: 300 })]);
    expect((await q.lease("due", { max: 1, waitMs: 15_000 })).map((m) => m.message.id)).toEqual(["soon"]);
  }, 10_000);

  it("returns empty at once when its signal aborts", async () => {
    const controller = new AbortController();
    const leasing = q.lease("quiet", { max: 1, waitMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await leasing).toEqual([]);
  }, 10_000);
});
