import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Code as RpcCode } from "../../../../gen/google/rpc/code_pb.ts";
import { FaultSchema, type Fault } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { DataService } from "../../../../gen/mesh/data/v1/data_pb.ts";
import { Health } from "../../../../gen/grpc/health/v1/health_pb.ts";
import { createFaultInterceptor } from "./fault-interceptor.ts";
import { createFaultRegistry, type FaultRegistry } from "./fault-registry.ts";

/** Draws from a fixed sequence, and fails the test on a draw it did not plan for. */
function sequence(...values: number[]): () => number {
  return () => {
    const next = values.shift();
    if (next === undefined) throw new Error("random() drawn more often than expected");
    return next;
  };
}

const minute = durationFromMs(60_000);

function errorRate(rate: number, code: RpcCode = RpcCode.RESOURCE_EXHAUSTED): Fault {
  return create(FaultSchema, { spec: { case: "errorRate", value: { rate, code } }, duration: minute });
}

function latency(delayMs: number, options: { jitterMs?: number; rate?: number; methods?: string[] } = {}): Fault {
  return create(FaultSchema, {
    spec: {
      case: "latency",
      value: {
        delay: durationFromMs(delayMs),
        jitter: options.jitterMs === undefined ? undefined : durationFromMs(options.jitterMs),
        rate: options.rate ?? 0,
      },
    },
    duration: minute,
    methods: options.methods ?? [],
  });
}

function hang(rate = 0): Fault {
  return create(FaultSchema, { spec: { case: "hang", value: { rate } }, duration: minute });
}

let registry: FaultRegistry;

beforeEach(() => {
  vi.useFakeTimers();
  registry = createFaultRegistry();
});

afterEach(() => {
  registry.close();
  vi.useRealTimers();
});

/** Calls `method` of `service` through the interceptor; `next` records that the handler ran. */
function call(
  random: () => number,
  options: { signal?: AbortSignal; method?: string; service?: typeof DataService | typeof Health; maxHangMs?: number } = {},
) {
  const service = options.service ?? DataService;
  const method = service.methods.find((m) => m.name === (options.method ?? service.methods[0]!.name))!;
  const handled = vi.fn(async () => ({ stream: false }) as unknown as UnaryResponse);
  const interceptor = createFaultInterceptor(registry, { random, maxHangMs: options.maxHangMs });
  const req = { stream: false, service, method, signal: options.signal ?? new AbortController().signal } as unknown as UnaryRequest;
  const result = interceptor(handled)(req).then(
    () => "handled" as const,
    (err: unknown) => err,
  );
  return { handled, result };
}

describe("createFaultInterceptor", () => {
  it("passes calls straight through when no fault is active", async () => {
    const { handled, result } = call(sequence());
    expect(await result).toBe("handled");
    expect(handled).toHaveBeenCalledTimes(1);
  });

  it("fails exactly the calls whose draw is below the error rate, with the fault's code", async () => {
    const active = registry.inject(errorRate(0.5));
    const draws = [0.1, 0.5, 0.49, 0.9, 0];
    const outcomes = [];
    for (const draw of draws) {
      const { result } = call(sequence(draw));
      const outcome = await result;
      outcomes.push(outcome === "handled" ? "handled" : Code[(outcome as ConnectError).code]);
      if (outcome !== "handled") expect((outcome as ConnectError).rawMessage).toContain(active.id);
    }
    expect(outcomes).toEqual(["ResourceExhausted", "handled", "ResourceExhausted", "handled", "ResourceExhausted"]);
  });

  it("fails with Unavailable when the fault's code is OK (the seeds' ERROR_RATE)", async () => {
    registry.inject(errorRate(1, RpcCode.OK), { permanent: true });
    const outcome = await call(sequence(0.99)).result;
    expect((outcome as ConnectError).code).toBe(Code.Unavailable);
  });

  it("delays every call by the latency when its rate is 0, without drawing", async () => {
    registry.inject(latency(1500));
    const { handled, result } = call(sequence());
    await vi.advanceTimersByTimeAsync(1499);
    expect(handled).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(handled).toHaveBeenCalledTimes(1);
    expect(await result).toBe("handled");
  });

  it("adds the drawn share of the jitter", async () => {
    registry.inject(latency(1000, { jitterMs: 400 }));
    const { handled } = call(sequence(0.25));
    await vi.advanceTimersByTimeAsync(1099);
    expect(handled).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(handled).toHaveBeenCalledTimes(1);
  });

  it("delays only the calls whose draw is below a latency rate", async () => {
    registry.inject(latency(1000, { rate: 0.3 }));
    const spared = call(sequence(0.3));
    await vi.advanceTimersByTimeAsync(0);
    expect(spared.handled).toHaveBeenCalledTimes(1);

    const delayed = call(sequence(0.29));
    await vi.advanceTimersByTimeAsync(999);
    expect(delayed.handled).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(delayed.handled).toHaveBeenCalledTimes(1);
  });

  it("gives up the delay when the call is cancelled, without running the handler", async () => {
    registry.inject(latency(10_000));
    const abort = new AbortController();
    const expiryTimers = vi.getTimerCount();
    const { handled, result } = call(sequence(), { signal: abort.signal });
    await vi.advanceTimersByTimeAsync(100);
    expect(vi.getTimerCount()).toBe(expiryTimers + 1);
    const reason = new ConnectError("the caller went away", Code.Canceled);
    abort.abort(reason);
    expect(await result).toBe(reason);
    expect(handled).not.toHaveBeenCalled();
    // The delay's timer is cleared, not left to fire.
    expect(vi.getTimerCount()).toBe(expiryTimers);
  });

  it("hangs until the call's signal aborts, then ends with the abort reason", async () => {
    registry.inject(hang());
    const abort = new AbortController();
    const { handled, result } = call(sequence(), { signal: abort.signal });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(handled).not.toHaveBeenCalled();
    const deadline = new ConnectError("the deadline passed", Code.DeadlineExceeded);
    abort.abort(deadline);
    expect(await result).toBe(deadline);
    expect(handled).not.toHaveBeenCalled();
  });

  it("ends a hang without a deadline after maxHangMs with DeadlineExceeded", async () => {
    registry.inject(hang());
    const { handled, result } = call(sequence(), { maxHangMs: 5000 });
    await vi.advanceTimersByTimeAsync(4999);
    await vi.advanceTimersByTimeAsync(1);
    const outcome = await result;
    expect(outcome).toBeInstanceOf(ConnectError);
    expect((outcome as ConnectError).code).toBe(Code.DeadlineExceeded);
    expect(handled).not.toHaveBeenCalled();
  });

  it("hangs only the calls whose draw is below the hang rate", async () => {
    registry.inject(hang(0.5));
    expect(await call(sequence(0.5)).result).toBe("handled");
  });

  it("applies latency first, then the error rate", async () => {
    registry.inject(errorRate(1));
    registry.inject(latency(2000));
    const { result } = call(sequence(0.5));
    let settled = false;
    void result.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(1999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(((await result) as ConnectError).code).toBe(Code.ResourceExhausted);
  });

  it("leaves alone methods outside the fault's filter, and the exempt services", async () => {
    registry.inject(latency(1000, { methods: ["mesh.data.v1.DataService/GetItem"] }));
    registry.inject(errorRate(1));
    expect(await call(sequence(), { method: "Check", service: Health }).result).toBe("handled");

    const other = call(sequence(0.5), { method: "ListItems" });
    expect(((await other.result) as ConnectError).code).toBe(Code.ResourceExhausted);
  });
});
