import { Writable } from "node:stream";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { Redis } from "ioredis";
import { DataService } from "../../../../gen/mesh/data/v1/data_pb.ts";
import { FaultService } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { createPool } from "../../../../lib/db/create-pool.ts";
import { quoteIdent } from "../../../../lib/db/quote-ident.ts";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import { deleteKeys, testKeyPrefix } from "../../../../test/test-redis.ts";
import { uniqueTestName } from "../../../../test/infra-context.ts";
import { startBackend, type Backend } from "../backend.ts";
import { readBackendConfig } from "../config.ts";
import type pg from "pg";

export interface TestBackendOptions {
  databaseUrl: string;
  redisUrl: string;
  /** Names the schema and key prefix. */
  label: string;
  /** More BACKEND variables (strings, as in the environment). */
  env?: Record<string, string>;
  /** Called instead of process.exit by the crash fault. */
  exit?: (code: number) => void;
}

export interface TestBackend {
  readonly backend: Backend;
  /** gRPC over HTTP/2. */
  readonly data: Client<typeof DataService>;
  /** Connect over HTTP/1.1, JSON. */
  readonly dataConnect: Client<typeof DataService>;
  readonly faults: Client<typeof FaultService>;
  /** A pool on the backend's schema, for looking at rows. */
  readonly pool: pg.Pool;
  /** A client on the backend's Valkey, for looking at keys. */
  readonly redis: Redis;
  readonly schema: string;
  readonly keyPrefix: string;
  /** Every log line the backend wrote, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

function capturingLogger(lines: Array<Record<string, unknown>>): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: "debug", base: { service: "backend" } }, sink);
}

/**
 * A real backend (startBackend: server, pool, Valkey client, faults) in this process, on a schema and a key
 * prefix of its own, with clients for both protocols. For *.infra.test.ts files.
 */
export async function startTestBackend(options: TestBackendOptions): Promise<TestBackend> {
  const schema = uniqueTestName(options.label);
  const keyPrefix = testKeyPrefix(options.label);
  const admin = createPool({ url: options.databaseUrl, applicationName: "test:admin", max: 1 });
  await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  await admin.end();
  const url = new URL(options.databaseUrl);
  url.searchParams.set("options", `-c search_path=${schema}`);
  const config = readBackendConfig({
    DATABASE_URL: url.toString(),
    REDIS_URL: options.redisUrl,
    PORT: "0",
    INSTANCE_ID: "test-backend",
    CACHE_KEY_PREFIX: keyPrefix,
    HEALTH_CHECK_INTERVAL_MS: "1000",
    ...options.env,
  });
  const logs: Array<Record<string, unknown>> = [];
  const backend = await startBackend(config, {
    logger: capturingLogger(logs),
    exit: options.exit ?? (() => {}),
  });
  const grpc = createGrpcTransport({ baseUrl: backend.url });
  const connect = createConnectTransport({ baseUrl: backend.url, httpVersion: "1.1", useBinaryFormat: false });
  const pool = createPool({ url: options.databaseUrl, applicationName: "test:inspect", max: 2, schema });
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  await redis.connect().catch(() => {});
  return {
    backend,
    data: createClient(DataService, grpc),
    dataConnect: createClient(DataService, connect),
    faults: createClient(FaultService, grpc),
    pool,
    redis,
    schema,
    keyPrefix,
    logs,
    async stop() {
      await backend.stop(500);
      await deleteKeys(redis, keyPrefix).catch(() => {});
      redis.disconnect();
      await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => {});
      await pool.end();
    },
  };
}
