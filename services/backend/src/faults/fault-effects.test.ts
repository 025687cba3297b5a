import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FaultSchema, type Fault } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { createFaultEffects } from "./fault-effects.ts";

const megabyte = 1024 * 1024;
let nextId = 0;

function fault(spec: MessageInitShape<typeof FaultSchema>["spec"]): Fault {
  nextId += 1;
  return create(FaultSchema, { id: `fault-${nextId}`, spec, duration: durationFromMs(60_000) });
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("crash", () => {
  it.each([
    [7, 7],
    [0, 1],
  ])("exits with code %i as %i once the delay is over, and not before", async (exitCode, expected) => {
    const exit = vi.fn();
    const effects = createFaultEffects({ exit });
    effects.start(fault({ case: "crash", value: { delay: durationFromMs(3000), exitCode } }));
    await vi.advanceTimersByTimeAsync(2999);
    expect(exit).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(exit).toHaveBeenCalledExactlyOnceWith(expected);
  });

  it("without a delay still exits only after the InjectFault answer could leave", async () => {
    const exit = vi.fn();
    createFaultEffects({ exit }).start(fault({ case: "crash", value: { exitCode: 3 } }));
    await vi.advanceTimersByTimeAsync(0);
    expect(exit).not.toHaveBeenCalled();
    await vi.runAllTimersAsync();
    expect(exit).toHaveBeenCalledExactlyOnceWith(3);
  });

  it("does not exit once the fault is stopped", async () => {
    const exit = vi.fn();
    const effects = createFaultEffects({ exit });
    const crash = fault({ case: "crash", value: { delay: durationFromMs(1000) } });
    effects.start(crash);
    effects.stop(crash);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(exit).not.toHaveBeenCalled();
  });
});

describe("memory pressure", () => {
  it("grows by the rate in steps up to the bound, and releases it all on stop", async () => {
    const effects = createFaultEffects({ exit: vi.fn(), memoryStepMs: 100 });
    const pressure = fault({ case: "memoryPressure", value: { megabytesPerSecond: 10, maxMegabytes: 3 } });
    effects.start(pressure);
    expect(effects.heldBytes()).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(effects.heldBytes()).toBe(megabyte);
    await vi.advanceTimersByTimeAsync(200);
    expect(effects.heldBytes()).toBe(3 * megabyte);
    await vi.advanceTimersByTimeAsync(1000);
    expect(effects.heldBytes()).toBe(3 * megabyte);
    effects.stop(pressure);
    expect(effects.heldBytes()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("keeps each fault's memory apart", async () => {
    const effects = createFaultEffects({ exit: vi.fn(), memoryStepMs: 100 });
    const a = fault({ case: "memoryPressure", value: { megabytesPerSecond: 10, maxMegabytes: 1 } });
    const b = fault({ case: "memoryPressure", value: { megabytesPerSecond: 10, maxMegabytes: 2 } });
    effects.start(a);
    effects.start(b);
    await vi.advanceTimersByTimeAsync(1000);
    expect(effects.heldBytes()).toBe(3 * megabyte);
    effects.stop(a);
    expect(effects.heldBytes()).toBe(2 * megabyte);
    effects.stop(b);
  });
});

it("ignores faults that act on calls, and stops of unknown faults", async () => {
  const exit = vi.fn();
  const effects = createFaultEffects({ exit });
  const latency = fault({ case: "latency", value: { delay: durationFromMs(10) } });
  effects.start(latency);
  expect(vi.getTimerCount()).toBe(0);
  effects.stop(latency);
  effects.stop(fault({ case: "hang", value: {} }));
  expect(effects.heldBytes()).toBe(0);
  expect(exit).not.toHaveBeenCalled();
});
