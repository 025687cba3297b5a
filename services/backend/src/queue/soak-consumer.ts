// A consumer process for the soak test (soak.infra.test.ts), which SIGKILLs it at random moments.
// It leases batches, records each delivery in a hash (the side effect whose repeats the test counts as
// duplicates), "works" a little, then acks, or nacks the messages whose payload asks to fail.
// It exits when its standard input closes, so that it never outlives the test.
//   SOAK_REDIS_URL, SOAK_KEY_PREFIX, SOAK_QUEUE, SOAK_PROCESSED_KEY: where to work
//   SOAK_BATCH (25), SOAK_WORK_MS (20), SOAK_VISIBILITY_MS (1500)
import { Redis } from "ioredis";
import { z } from "zod";
import { env, loadConfig } from "../../../../lib/config/load-config.ts";
import { createQueueEngine } from "./queue-engine.ts";

const config = loadConfig(
  z.object({
    SOAK_REDIS_URL: env.url(["redis"]),
    SOAK_KEY_PREFIX: z.string().min(1),
    SOAK_QUEUE: env.name(),
    SOAK_PROCESSED_KEY: z.string().min(1),
    SOAK_BATCH: env.int(25, 1, 1000),
    SOAK_WORK_MS: env.int(20, 0, 10_000),
    SOAK_VISIBILITY_MS: env.int(1500, 100, 600_000),
  }),
  process.env,
);

const redis = new Redis(config.SOAK_REDIS_URL, { maxRetriesPerRequest: 1 });
const engine = createQueueEngine(redis, { keyPrefix: config.SOAK_KEY_PREFIX, retry: { baseMs: 50, capMs: 400, jitter: 0.5 } });
const stop = new AbortController();
process.stdin.on("close", () => stop.abort());
process.stdin.resume();

while (!stop.signal.aborted) {
  const leased = await engine.lease(config.SOAK_QUEUE, {
    max: config.SOAK_BATCH,
    visibilityMs: config.SOAK_VISIBILITY_MS,
    waitMs: 1000,
    signal: stop.signal,
  });
  if (leased.length === 0) continue;
  const recorded = redis.pipeline();
  for (const m of leased) recorded.hincrby(config.SOAK_PROCESSED_KEY, m.message.id, 1);
  await recorded.exec();
  await new Promise((resolve) => setTimeout(resolve, config.SOAK_WORK_MS));
  const failed: string[] = [];
  const done: string[] = [];
  for (const m of leased) {
    const { fail } = JSON.parse(m.message.payloadJson) as { fail?: "once" | "always" };
    if (fail === "always" || (fail === "once" && m.message.attempts === 1)) failed.push(m.token);
    else done.push(m.token);
  }
  // A lease that ended meanwhile fails its whole batch: then settle the others one by one.
  await engine.ack(config.SOAK_QUEUE, done).catch(() => Promise.allSettled(done.map((t) => engine.ack(config.SOAK_QUEUE, [t]))));
  await engine
    .nack(config.SOAK_QUEUE, failed, { error: "asked to fail" })
    .catch(() => Promise.allSettled(failed.map((t) => engine.nack(config.SOAK_QUEUE, [t], { error: "asked to fail" }))));
}
redis.disconnect();
