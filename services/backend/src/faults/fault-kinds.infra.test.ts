import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { Code as RpcCode } from "../../../../gen/google/rpc/code_pb.ts";
import { FaultSchema, type Fault } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { StatusService } from "../../../../gen/mesh/health/v1/status_pb.ts";
import { infraUrls } from "../../../../test/infra-context.ts";
import { startTestBackend, type TestBackend } from "../data/test-backend.ts";

let t: TestBackend;
const exits: number[] = [];

beforeAll(async () => {
  t = await startTestBackend({
    ...infraUrls(),
    label: "fault-kinds",
    env: { DB_BREAKER_HALF_OPEN_MS: "200", CACHE_BREAKER_HALF_OPEN_MS: "200", CACHE_TIMEOUT_MS: "100" },
    exit: (code) => exits.push(code),
  });
});
afterAll(() => t?.stop());
afterEach(async () => {
  await t.faults.clearFaults({});
});

const getItem = "mesh.data.v1.DataService/GetItem";
const createItem = "mesh.data.v1.DataService/CreateItem";

function inject(spec: MessageInitShape<typeof FaultSchema>["spec"], methods: string[] = [], durationMs = 60_000): Promise<Fault> {
  return t.faults
    .injectFault({ fault: create(FaultSchema, { spec, methods, duration: durationFromMs(durationMs), source: "test" }) })
    .then((r) => r.fault!);
}

async function outcome(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const { values } = await t.backend.service.registry.getSingleMetric(name)!.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

async function newCachedItem(name: string) {
  const item = (await t.data.createItem({ item: { name } })).item!;
  await t.data.getItem({ id: item.id });
  return item;
}

describe("error rate", () => {
  it("fails a share of calls within statistical bounds, with the chosen code, on the chosen method only", async () => {
    const item = await newCachedItem("error rate");
    await inject({ case: "errorRate", value: { rate: 0.15, code: RpcCode.RESOURCE_EXHAUSTED } }, [getItem]);
    const calls = 2000;
    const outcomes: Array<Code | "ok"> = [];
    for (let i = 0; i < calls; i += 50) {
      outcomes.push(...(await Promise.all(Array.from({ length: 50 }, () => outcome(t.data.getItem({ id: item.id }))))));
    }
    const failed = outcomes.filter((o) => o !== "ok");
    // Binomial(2000, 0.15): mean 300, standard deviation 16; ±5 deviations fail by chance once in 3 million runs.
    expect(failed.length).toBeGreaterThanOrEqual(220);
    expect(failed.length).toBeLessThanOrEqual(380);
    expect(new Set(failed)).toEqual(new Set([Code.ResourceExhausted]));
    for (let i = 0; i < 20; i++) expect(await outcome(t.data.createItem({ item: { name: `unaffected ${i}` } }))).toBe("ok");
  }, 60_000);
});

describe("latency and hang", () => {
  it("delays calls by at least the configured latency", async () => {
    const item = await newCachedItem("latency");
    await inject({ case: "latency", value: { delay: durationFromMs(150), jitter: durationFromMs(50), rate: 0 } }, [getItem]);
    const started = performance.now();
    await t.data.getItem({ id: item.id });
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(await outcome(t.data.getItem({ id: item.id }, { timeoutMs: 50 }))).toBe(Code.DeadlineExceeded);
  });

  it("hangs calls until their deadline", async () => {
    const item = await newCachedItem("hang");
    await inject({ case: "hang", value: { rate: 0 } }, [getItem]);
    expect(await outcome(t.data.getItem({ id: item.id }, { timeoutMs: 300 }))).toBe(Code.DeadlineExceeded);
    expect(await outcome(t.data.getItem({ id: item.id, nocache: true }, { timeoutMs: 300 }))).toBe(Code.DeadlineExceeded);
    expect(await outcome(t.data.listItems({}, { timeoutMs: 3000 }))).toBe("ok");
  });
});

describe("crash and memory pressure", () => {
  it("exits the process with the chosen code", async () => {
    await inject({ case: "crash", value: { delay: durationFromMs(0), exitCode: 3 } });
    await vi.waitFor(() => expect(exits).toEqual([3]));
  });

  it("grows memory up to the bound, and shows the fault in status and metrics", async () => {
    const before = process.memoryUsage().arrayBuffers;
    const fault = await inject({ case: "memoryPressure", value: { megabytesPerSecond: 100, maxMegabytes: 20 } });
    await vi.waitFor(() => expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThanOrEqual(19 * 1024 * 1024), { timeout: 5000 });
    const status = await createClient(StatusService, createGrpcTransport({ baseUrl: t.backend.url })).getStatus({});
    expect(status.activeFaults.map((f) => f.id)).toContain(fault.id);
    expect(await metric("mesh_faults_active", { kind: "memory_pressure" })).toBe(1);
    await t.faults.clearFault({ id: fault.id });
    expect(await metric("mesh_faults_active", { kind: "memory_pressure" })).toBe(0);
  });
});

describe("database fault", () => {
  it("fails PostgreSQL calls as if it were down: writes Unavailable, cached reads still served, recovery after clearing", async () => {
    const item = await newCachedItem("database fault");
    const fault = await inject({ case: "database", value: { failureRate: 1 } });
    expect(fault.kind).toBeGreaterThan(0);
    expect(await outcome(t.data.createItem({ item: { name: "refused" } }))).toBe(Code.Unavailable);
    expect(await outcome(t.data.updateItem({ item: { id: item.id, name: "x" }, updateMask: create(FieldMaskSchema, { paths: ["name"] }) }))).toBe(Code.Unavailable);
    expect(await t.data.getItem({ id: item.id })).toMatchObject({ cached: true, item });
    expect(await outcome(t.data.getItem({ id: item.id, nocache: true }))).toBe(Code.Unavailable);
    expect(await metric("mesh_dependency_faults_applied_total", { dependency: "database", effect: "failure" })).toBeGreaterThan(0);
    expect(await metric("mesh_faults_active", { kind: "database" })).toBe(1);

    await t.faults.clearFault({ id: fault.id });
    await vi.waitFor(() => t.data.createItem({ item: { name: "after the fault" } }), { timeout: 5000, interval: 100 });
    expect((await t.data.getItem({ id: item.id, nocache: true })).item).toEqual(item);
  });

  it("adds latency to PostgreSQL calls: a write past its deadline fails and leaves nothing behind", async () => {
    const item = await newCachedItem("slow database");
    await inject({ case: "database", value: { failureRate: 0, addedLatency: durationFromMs(1000) } }, ["mesh.data.v1.DataService/UpdateItem"]);
    const update = t.data.updateItem(
      { item: { id: item.id, name: "too late" }, updateMask: create(FieldMaskSchema, { paths: ["name"] }) },
      { timeoutMs: 300 },
    );
    expect(await outcome(update)).toBe(Code.DeadlineExceeded);
    expect(await t.data.getItem({ id: item.id })).toMatchObject({ cached: true, item: { version: 1n } });
    expect((await t.data.getItem({ id: item.id, nocache: true })).item!.version).toBe(1n);
  });

  it("honours the method filter", async () => {
    const item = await newCachedItem("filtered");
    await inject({ case: "database", value: { failureRate: 1 } }, [createItem]);
    expect(await outcome(t.data.createItem({ item: { name: "refused" } }))).toBe(Code.Unavailable);
    expect(await outcome(t.data.updateItem({ item: { id: item.id, name: "allowed" }, updateMask: create(FieldMaskSchema, { paths: ["name"] }) }))).toBe("ok");
  });
});

describe("cache fault", () => {
  it("fails Valkey calls: reads come from PostgreSQL without errors, and no stale entry is served afterwards", async () => {
    const item = await newCachedItem("cache fault");
    const fault = await inject({ case: "cache", value: { failureRate: 1 } });
    for (let i = 0; i < 10; i++) expect(await t.data.getItem({ id: item.id })).toMatchObject({ cached: false, item });
    // Valkey still holds version 1, which the update below cannot invalidate while the fault lasts.
    const updated = (await t.data.updateItem({ item: { id: item.id, name: "v2" }, updateMask: create(FieldMaskSchema, { paths: ["name"] }) })).item!;
    expect(t.backend.cache.pending).toBeGreaterThan(0);
    expect((await t.data.getItem({ id: item.id })).item).toEqual(updated);
    expect(await metric("mesh_dependency_faults_applied_total", { dependency: "cache", effect: "failure" })).toBeGreaterThan(0);

    await t.faults.clearFault({ id: fault.id });
    await vi.waitFor(
      async () => {
        const read = await t.data.getItem({ id: item.id });
        expect(read.item).toEqual(updated);
        expect(read.cached).toBe(true);
      },
      { timeout: 5000, interval: 50 },
    );
    expect(t.backend.cache.pending).toBe(0);
  });

  it("makes Valkey slow: reads give up on it after the cache timeout and still succeed", async () => {
    const item = await newCachedItem("slow cache");
    await inject({ case: "cache", value: { failureRate: 0, addedLatency: durationFromMs(2000) } }, [getItem]);
    for (let i = 0; i < 5; i++) {
      expect(await t.data.getItem({ id: item.id }, { timeoutMs: 1500 })).toMatchObject({ cached: false, item });
    }
  });
});
