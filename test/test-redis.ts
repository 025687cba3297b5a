import { Redis } from "ioredis";
import { infraUrls, uniqueTestName } from "./infra-context.ts";

/** A key prefix unique to this call, e.g. "test_rate_limit_4242_3f9a0c1d2e:". */
export function testKeyPrefix(label = "keys"): string {
  return `${uniqueTestName(label)}:`;
}

export interface TestRedis {
  /** Every key a test writes starts with this. */
  readonly prefix: string;
  readonly redisUrl: string;
  /** A client on the run's Redis; deleteKeysAndQuit() closes it. */
  readonly redis: Redis;
  /** `prefix + name`. */
  key(name: string): string;
  /** Deletes every key under `prefix` and closes the client. */
  deleteKeysAndQuit(): Promise<void>;
}

/**
 * A key prefix of its own for a test file, on the run's Redis:
 *
 *   const kv = await createTestRedis("rate-limit");
 *   afterAll(() => kv.deleteKeysAndQuit());
 */
export async function createTestRedis(label = "keys"): Promise<TestRedis> {
  const { redisUrl } = infraUrls();
  const prefix = testKeyPrefix(label);
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  return {
    prefix,
    redisUrl,
    redis,
    key: (name) => `${prefix}${name}`,
    async deleteKeysAndQuit() {
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
}

/** Deletes the keys starting with `prefix` (which holds no glob characters) with SCAN, not KEYS. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== "0");
  return deleted;
}
