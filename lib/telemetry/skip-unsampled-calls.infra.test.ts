// The pg and ioredis instrumentations, as start-sdk.ts makes them, on the real clients against the run's
// PostgreSQL and Valkey: in a trace that is not sampled a call does not reach the instrumentation at all.
import { ROOT_CONTEXT, TraceFlags, context, trace, type Context, type TracerProvider } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import type { InstrumentationBase } from "@opentelemetry/instrumentation";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { AlwaysOnSampler, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor, TracerProvider as SdkTracerProvider } from "@opentelemetry/sdk-trace";
import * as ioredis from "ioredis";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { infraUrls } from "../../test/infra-context.ts";
import { createTestRedis, type TestRedis } from "../../test/test-redis.ts";
import { skipUnsampledCalls } from "./skip-unsampled-calls.ts";

const exporter = new InMemorySpanExporter();
const sdk = new SdkTracerProvider({ sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
/** Names of the spans the instrumentations asked for, recorded or not. */
const asked: string[] = [];
const counting: TracerProvider = {
  getTracer(name, version, options) {
    const tracer = sdk.getTracer(name, version, options);
    return {
      startSpan(spanName, spanOptions, ctx) {
        asked.push(spanName);
        return tracer.startSpan(spanName, spanOptions, ctx);
      },
      startActiveSpan: tracer.startActiveSpan.bind(tracer),
    } as typeof tracer;
  },
};

// Patched by hand on the modules this file imports, instead of through the module hooks, which a test
// process does not go through; `enabled: false` keeps the hooks out of it.
const instrumentations: [InstrumentationBase, object][] = [
  [new (skipUnsampledCalls(IORedisInstrumentation))({ enabled: false }), ioredis],
  [new (skipUnsampledCalls(PgInstrumentation))({ enabled: false }), pg],
];
const manager = new AsyncLocalStorageContextManager();
let kv: TestRedis;
let client: pg.Client;

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const parentSpanId = "00f067aa0ba902b7";
const inTrace = (flags: TraceFlags): Context => trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: parentSpanId, traceFlags: flags });

beforeAll(async () => {
  context.setGlobalContextManager(manager.enable());
  for (const [instrumentation, module] of instrumentations) {
    instrumentation.setTracerProvider(counting);
    instrumentation.getModuleDefinitions()[0]!.patch!(module, "test");
  }
  kv = await createTestRedis("skip-unsampled");
  client = new pg.Client({ connectionString: infraUrls().databaseUrl });
  await client.connect();
  asked.length = 0;
  exporter.reset();
});

afterAll(async () => {
  await client.end();
  await kv.deleteKeysAndQuit();
  for (const [instrumentation, module] of instrumentations) instrumentation.getModuleDefinitions()[0]!.unpatch!(module, "test");
  context.disable();
});

afterEach(() => {
  asked.length = 0;
  exporter.reset();
});

describe("skipUnsampledCalls", () => {
  it("in a trace that is not sampled, Valkey commands and queries run without the instrumentations", async () => {
    const answers = await context.with(inTrace(TraceFlags.NONE), async () => {
      await kv.redis.set(kv.key("a"), "1");
      return [await kv.redis.get(kv.key("a")), (await client.query("SELECT 1 AS one")).rows[0].one];
    });
    expect(answers).toEqual(["1", 1]);
    expect(asked).toEqual([]);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("in a sampled trace, each command and query is a span beneath the caller's", async () => {
    await context.with(inTrace(TraceFlags.SAMPLED), async () => {
      await kv.redis.get(kv.key("a"));
      await client.query("SELECT 1");
    });
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.attributes["db.system.name"])).toEqual(["redis", "postgresql"]);
    for (const span of spans) {
      expect(span.spanContext().traceId).toBe(traceId);
      expect(span.parentSpanContext?.spanId).toBe(parentSpanId);
    }
  });

  it("outside any trace, the instrumentations keep their own rule: ioredis wants a parent, pg does not", async () => {
    await kv.redis.get(kv.key("a"));
    await client.query("SELECT 1");
    expect(exporter.getFinishedSpans().map((s) => s.attributes["db.system.name"])).toEqual(["postgresql"]);
  });

  it("unpatching restores the clients' own methods", () => {
    const [redisInstrumentation] = instrumentations[0]!;
    redisInstrumentation.getModuleDefinitions()[0]!.unpatch!(ioredis, "test");
    expect((ioredis.Redis.prototype.sendCommand as { __wrapped?: boolean }).__wrapped).toBeUndefined();
    redisInstrumentation.getModuleDefinitions()[0]!.patch!(ioredis, "test");
    expect((ioredis.Redis.prototype.sendCommand as { __wrapped?: boolean }).__wrapped).toBe(true);
  });
});
