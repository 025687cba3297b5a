import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampDate } from "@bufbuild/protobuf/wkt";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Code as RpcCode } from "../../../../gen/google/rpc/code_pb.ts";
import { FaultKind, FaultSchema, type Fault } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { createFaultRegistry, faultApplies, type FaultRegistry } from "./fault-registry.ts";

const start = new Date("2030-01-01T00:00:00Z");

function fault(init: MessageInitShape<typeof FaultSchema>): Fault {
  return create(FaultSchema, { spec: { case: "hang", value: {} }, duration: durationFromMs(5000), ...init });
}

const latency = (durationMs: number, methods: string[] = []) =>
  fault({ spec: { case: "latency", value: { delay: durationFromMs(100) } }, duration: durationFromMs(durationMs), methods });
const errorRate = (durationMs: number) =>
  fault({ spec: { case: "errorRate", value: { rate: 0.5, code: RpcCode.UNAVAILABLE } }, duration: durationFromMs(durationMs) });

let registry: FaultRegistry;
let started: Fault[];
let ended: Array<[string, "expired" | "cleared"]>;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(start);
  started = [];
  ended = [];
  registry = createFaultRegistry({
    onStart: (f) => started.push(f),
    onEnd: (f, reason) => ended.push([f.id, reason]),
  });
});

afterEach(() => {
  registry.close();
  vi.useRealTimers();
});

describe("inject", () => {
  it("stores a copy with an id, its kind and its times, and reports the start", () => {
    const input = latency(5000);
    const stored = registry.inject(input);
    expect(stored.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(stored.kind).toBe(FaultKind.LATENCY);
    expect(timestampDate(stored.startTime!)).toEqual(start);
    expect(timestampDate(stored.expireTime!)).toEqual(new Date(start.getTime() + 5000));
    expect(input.id).toBe("");
    expect(input.startTime).toBeUndefined();
    expect(started).toEqual([stored]);
  });

  it.each([
    [{ case: "errorRate", value: { rate: 1 } }, FaultKind.ERROR_RATE],
    [{ case: "latency", value: {} }, FaultKind.LATENCY],
    [{ case: "hang", value: {} }, FaultKind.HANG],
    [{ case: "crash", value: {} }, FaultKind.CRASH],
    [{ case: "database", value: {} }, FaultKind.DATABASE],
    [{ case: "cache", value: {} }, FaultKind.CACHE],
    [{ case: "memoryPressure", value: {} }, FaultKind.MEMORY_PRESSURE],
    [{ case: undefined }, FaultKind.UNSPECIFIED],
  ] as const)("derives the kind of %o", (spec, kind) => {
    expect(registry.inject(fault({ spec })).kind).toBe(kind);
  });

  it("gives every fault its own id", () => {
    expect(registry.inject(latency(5000)).id).not.toBe(registry.inject(latency(5000)).id);
  });

  it("ignores an id, kind and times sent by the caller", () => {
    const stored = registry.inject(fault({ id: "mine", kind: FaultKind.CRASH, expireTime: { seconds: 1n } }));
    expect(stored.id).not.toBe("mine");
    expect(stored.kind).toBe(FaultKind.HANG);
    expect(timestampDate(stored.expireTime!)).toEqual(new Date(start.getTime() + 5000));
  });
});

describe("expiry", () => {
  it("ends a fault exactly when its duration is over", async () => {
    const stored = registry.inject(latency(5000));
    await vi.advanceTimersByTimeAsync(4999);
    expect(registry.list().map((f) => f.id)).toEqual([stored.id]);
    expect(ended).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(registry.list()).toEqual([]);
    expect(ended).toEqual([[stored.id, "expired"]]);
  });

  it("ends each fault on its own schedule", async () => {
    const short = registry.inject(latency(1000));
    const long = registry.inject(latency(3000));
    await vi.advanceTimersByTimeAsync(1000);
    expect(registry.list().map((f) => f.id)).toEqual([long.id]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(ended).toEqual([[short.id, "expired"], [long.id, "expired"]]);
  });

  it("never ends a permanent fault on its own", async () => {
    const stored = registry.inject(errorRate(1000), { permanent: true });
    expect(stored.expireTime).toBeUndefined();
    await vi.advanceTimersByTimeAsync(7 * 86_400_000);
    expect(registry.list().map((f) => f.id)).toEqual([stored.id]);
    expect(ended).toEqual([]);
  });

  it("holds one timer per expiring fault, none for a permanent one, and none once cleared", () => {
    registry.inject(latency(60_000));
    registry.inject(errorRate(60_000), { permanent: true });
    expect(vi.getTimerCount()).toBe(1);
    registry.clearAll();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("clear", () => {
  it("ends one fault now, reports it once, and cancels its expiry", async () => {
    const kept = registry.inject(latency(5000));
    const cleared = registry.inject(latency(5000));
    expect(registry.clear(cleared.id)?.id).toBe(cleared.id);
    expect(registry.list().map((f) => f.id)).toEqual([kept.id]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(ended).toEqual([[cleared.id, "cleared"], [kept.id, "expired"]]);
  });

  it("returns undefined for an unknown or already ended fault", () => {
    const stored = registry.inject(latency(5000));
    expect(registry.clear("no-such-id")).toBeUndefined();
    registry.clear(stored.id);
    expect(registry.clear(stored.id)).toBeUndefined();
    expect(ended).toEqual([[stored.id, "cleared"]]);
  });

  it("clearAll(kind) ends only the faults of that kind", () => {
    const slow = registry.inject(latency(5000));
    const failing = registry.inject(errorRate(5000));
    const permanent = registry.inject(errorRate(5000), { permanent: true });
    expect(registry.clearAll(FaultKind.ERROR_RATE).map((f) => f.id).sort()).toEqual([failing.id, permanent.id].sort());
    expect(registry.list().map((f) => f.id)).toEqual([slow.id]);
  });

  it.each([undefined, FaultKind.UNSPECIFIED])("clearAll(%s) ends every fault", (kind) => {
    registry.inject(latency(5000));
    registry.inject(errorRate(5000), { permanent: true });
    expect(registry.clearAll(kind)).toHaveLength(2);
    expect(registry.list()).toEqual([]);
    expect(ended.map(([, reason]) => reason)).toEqual(["cleared", "cleared"]);
  });

  it("close() ends everything without reporting, and no expiry fires after", async () => {
    registry.inject(latency(1000));
    registry.inject(errorRate(1000), { permanent: true });
    registry.close();
    await vi.advanceTimersByTimeAsync(2000);
    expect(registry.list()).toEqual([]);
    expect(ended).toEqual([]);
  });
});

describe("list", () => {
  it("puts the soonest expiry first and permanent faults last", () => {
    const permanent = registry.inject(errorRate(1000), { permanent: true });
    const late = registry.inject(latency(9000));
    vi.advanceTimersByTime(500);
    const soon = registry.inject(latency(1000));
    const middle = registry.inject(latency(4000));
    expect(registry.list().map((f) => f.id)).toEqual([soon.id, middle.id, late.id, permanent.id]);
  });
});

describe("matching", () => {
  it("selects by method, by service, or everything but the exempt services", () => {
    const byMethod = registry.inject(latency(5000, ["mesh.data.v1.DataService/GetItem"]));
    const byService = registry.inject(latency(5000, ["mesh.queue.v1.QueueService"]));
    const everywhere = registry.inject(latency(5000));
    const ids = (procedure: string) => registry.matching(procedure).map((f) => f.id);
    expect(ids("mesh.data.v1.DataService/GetItem")).toEqual([byMethod.id, everywhere.id]);
    expect(ids("mesh.data.v1.DataService/ListItems")).toEqual([everywhere.id]);
    expect(ids("mesh.queue.v1.QueueService/Enqueue")).toEqual([byService.id, everywhere.id]);
    expect(ids("grpc.health.v1.Health/Check")).toEqual([]);
  });

  it("stops matching a fault once it has ended", async () => {
    registry.inject(latency(1000));
    expect(registry.matching("mesh.data.v1.DataService/GetItem")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(registry.matching("mesh.data.v1.DataService/GetItem")).toEqual([]);
  });
});

describe("faultApplies", () => {
  it.each([
    [[], "mesh.data.v1.DataService/GetItem", true],
    [[], "mesh.queue.v1.QueueService/Consume", true],
    [[], "grpc.health.v1.Health/Check", false],
    [[], "grpc.health.v1.Health/Watch", false],
    [[], "grpc.reflection.v1.ServerReflection/ServerReflectionInfo", false],
    [[], "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", false],
    [[], "mesh.chaos.v1.FaultService/InjectFault", false],
    [[], "mesh.health.v1.StatusService/GetStatus", false],
    [["mesh.health.v1.StatusService/GetStatus"], "mesh.health.v1.StatusService/GetStatus", true],
    [["mesh.health.v1.StatusService/GetStatus"], "mesh.health.v1.StatusService/WatchStatus", false],
    [["mesh.data.v1.DataService"], "mesh.data.v1.DataService/GetItem", true],
    [["mesh.data.v1.DataService"], "mesh.data.v1.DataServiceV2/GetItem", false],
    [["mesh.data.v1"], "mesh.data.v1.DataService/GetItem", false],
    [["mesh.data.v1.DataService/GetItem"], "mesh.data.v1.DataService/GetItems", false],
  ] as const)("methods %o and %s: %s", (methods, procedure, applies) => {
    expect(faultApplies(methods, procedure)).toBe(applies);
  });
});
