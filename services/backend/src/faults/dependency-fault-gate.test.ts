import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FaultSchema, type Fault } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { createDependencyFaultGate, DependencyFaultError, type Dependency } from "./dependency-fault-gate.ts";
import { createFaultRegistry, type FaultRegistry } from "./fault-registry.ts";

const getItem = "mesh.data.v1.DataService/GetItem";
const createItem = "mesh.data.v1.DataService/CreateItem";

function fault(dependency: Dependency, failureRate: number, latencyMs: number | undefined, methods: string[] = []): Fault {
  return create(FaultSchema, {
    spec: {
      case: dependency,
      value: { failureRate, ...(latencyMs === undefined ? {} : { addedLatency: durationFromMs(latencyMs) }) },
    },
    methods,
    duration: durationFromMs(60_000),
  });
}

let registry: FaultRegistry;
const live = new AbortController().signal;

beforeEach(() => {
  vi.useFakeTimers();
  registry = createFaultRegistry();
});
afterEach(() => {
  registry.close();
  vi.useRealTimers();
});

describe("dependency fault gate", () => {
  it("costs nothing (returns undefined) while no fault is active", () => {
    const gate = createDependencyFaultGate(registry);
    expect(gate.pass("database", getItem, live)).toBeUndefined();
    registry.inject(fault("cache", 1, undefined));
    expect(gate.pass("database", getItem, live)).toBeUndefined();
  });

  it.each([
    // [failure rate, random draw, fails]
    [1, 0.999, true],
    [0.2, 0.19, true],
    [0.2, 0.2, false],
    [0.2, 0.9, false],
    [0, 0, false],
  ])("with failure rate %f and draw %f: fails %s", async (rate, draw, fails) => {
    const gate = createDependencyFaultGate(registry, { random: () => draw });
    registry.inject(fault("database", rate, rate === 0 ? 10 : undefined));
    const outcome = Promise.resolve(gate.pass("database", getItem, live)).then(
      () => "passed",
      (err: unknown) => err,
    );
    await vi.runAllTimersAsync();
    if (fails) expect(await outcome).toBeInstanceOf(DependencyFaultError);
    else expect(await outcome).toBe("passed");
  });

  it("fails like a refused connection, naming the dependency and the fault", async () => {
    const gate = createDependencyFaultGate(registry, { random: () => 0 });
    const injected = registry.inject(fault("cache", 1, undefined));
    const error = await Promise.resolve(gate.pass("cache", undefined, live)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ECONNREFUSED", dependency: "cache", faultId: injected.id });
  });

  it("adds the latency of every matching fault before the call, and reports each effect", async () => {
    const effects: string[] = [];
    const gate = createDependencyFaultGate(registry, { random: () => 0.5, onEffect: (d, e) => effects.push(`${d}:${e}`) });
    registry.inject(fault("database", 0, 200));
    registry.inject(fault("database", 0, 300, [getItem]));
    let done = false;
    void Promise.resolve(gate.pass("database", getItem, live)).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(499);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect(effects).toEqual(["database:latency"]);
  });

  it("stops waiting when the call's signal aborts", async () => {
    const gate = createDependencyFaultGate(registry);
    registry.inject(fault("cache", 0, 10_000));
    const controller = new AbortController();
    const passing = Promise.resolve(gate.pass("cache", getItem, controller.signal));
    controller.abort(new Error("deadline"));
    await expect(passing).rejects.toThrow("deadline");
  });

  it.each([
    // [fault methods, procedure, applies]
    [[], getItem, true],
    [[], undefined, true],
    [["mesh.data.v1.DataService"], getItem, true],
    [[getItem], getItem, true],
    [[getItem], createItem, false],
    [[getItem], undefined, false],
    [[], "grpc.health.v1.Health/Check", false],
  ])("a fault for methods %j applies to %s: %s", async (methods, procedure, applies) => {
    const gate = createDependencyFaultGate(registry, { random: () => 0 });
    registry.inject(fault("database", 1, undefined, methods));
    const result = gate.pass("database", procedure, live);
    if (applies) await expect(Promise.resolve(result)).rejects.toBeInstanceOf(DependencyFaultError);
    else expect(result).toBeUndefined();
  });

  it("stops applying a fault when it expires", async () => {
    const gate = createDependencyFaultGate(registry, { random: () => 0 });
    registry.inject(create(FaultSchema, { ...fault("database", 1, undefined), duration: durationFromMs(1000) }));
    await expect(Promise.resolve(gate.pass("database", getItem, live))).rejects.toBeInstanceOf(DependencyFaultError);
    await vi.advanceTimersByTimeAsync(1000);
    expect(gate.pass("database", getItem, live)).toBeUndefined();
  });
});
