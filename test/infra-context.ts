import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the PostgreSQL of this test run: private, or TEST_DATABASE_URL. */
    databaseUrl: string;
    /** URL of the Redis/Valkey of this test run: private, or TEST_REDIS_URL. */
    redisUrl: string;
  }
}

/** The servers that test/global-setup.ts started (infra project only). */
export function infraUrls(): { databaseUrl: string; redisUrl: string } {
  const databaseUrl = inject("databaseUrl");
  const redisUrl = inject("redisUrl");
  if (databaseUrl === undefined || redisUrl === undefined) {
    throw new Error("no test infrastructure: name this file *.infra.test.ts so that it runs in the infra project");
  }
  return { databaseUrl, redisUrl };
}

/** A name unique to this test process and call: lower case letters, digits and `_`. */
export function uniqueTestName(label: string): string {
  const clean = label.toLowerCase().replace(/[^a-z0-9]+/g, "_").slice(0, 30);
  const random = crypto.randomUUID().replaceAll("-", "").slice(0, 10);
  return `test_${clean}_${process.pid}_${random}`;
}
