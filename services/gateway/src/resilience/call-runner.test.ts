import { create, type DescMethod } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ServicePolicySchema } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import { DataService } from "../../../../gen/mesh/data/v1/data_pb.ts";
import { createUpstreamPool, type UpstreamPool } from "../upstreams/upstream-pool.ts";
import type { AttemptOutcome } from "./attempt-outcome.ts";
import { createCallRunner, type AttemptContext, type CallSpec } from "./call-runner.ts";
import { createGatewayMetrics } from "./gateway-metrics.ts";

const rpc = DataService.typeName;
type Step = { code?: Code; reached?: boolean; hang?: boolean };

interface Harness {
  pool: UpstreamPool;
  calls: Array<{ instance: string; at: number; timeoutMs: number | undefined; attempt: number }>;
  /** What each instance answers, call after call (the last step repeats). */
  script: Map<string, Step[]>;
  run(method: DescMethod, extra?: Partial<CallSpec>): Promise<AttemptOutcome<string | ConnectError>>;
  exhausted: () => number;
}

function harness(instances: string[], policy: Record<string, unknown> = {}): Harness {
  const pool = createUpstreamPool({ service: "backend", maxInFlight: 100, hooks: { onBreakerChange() {}, onRetired() {} }, random: () => 0 });
  pool.setPolicy(create(ServicePolicySchema, { service: "backend", ...policy }));
  for (const id of instances) pool.upsert({ id, service: "backend", address: `http://127.0.0.1:1/${id}`, rpcServices: new Set([rpc]), serving: true, isolatedUntilMs: undefined });
  const metrics = createGatewayMetrics();
  let exhausted = 0;
  const counted = { ...metrics, budgetExhausted: () => void exhausted++ };
  const runner = createCallRunner({ metrics: counted, now: () => Date.now() });
  const calls: Harness["calls"] = [];
  const script = new Map<string, Step[]>();
  const attempt = async (ctx: AttemptContext): Promise<AttemptOutcome<string | ConnectError>> => {
    calls.push({ instance: ctx.endpoint.id, at: Date.now(), timeoutMs: ctx.timeoutMs, attempt: ctx.attempt });
    const steps = script.get(ctx.endpoint.id) ?? [{}];
    const step = steps.length > 1 ? steps.shift()! : steps[0]!;
    if (step.hang) {
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
      return { code: Code.Canceled, reached: true, value: new ConnectError("cancelled", Code.Canceled) };
    }
    if (step.code === undefined) return { code: undefined, reached: true, value: `ok from ${ctx.endpoint.id}` };
    return { code: step.code, reached: step.reached ?? true, value: new ConnectError("failed", step.code) };
  };
  return {
    pool,
    calls,
    script,
    exhausted: () => exhausted,
    run: (method, extra = {}) =>
      runner.run<string>(
        { pool, rpcService: rpc, method, route: "/test", resendable: true, idempotencyKey: false, timeoutMs: undefined, signal: new AbortController().signal, ...extra },
        attempt,
      ),
  };
}

/** Runs a call to the end, moving the fake clock as far as it needs. */
async function settle<T>(promise: Promise<T>): Promise<T> {
  let done = false;
  void promise.finally(() => (done = true));
  for (let i = 0; i < 1000 && !done; i++) await vi.advanceTimersByTimeAsync(1);
  return promise;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
  vi.spyOn(Math, "random").mockReturnValue(0.5);
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const getItem = DataService.method.getItem; // NO_SIDE_EFFECTS
const deleteItem = DataService.method.deleteItem; // IDEMPOTENT
const createItem = DataService.method.createItem; // no idempotency level

describe("retries", () => {
  it.each([
    ["an idempotent read that got Unavailable", getItem, { code: Code.Unavailable }, {}, ["a", "b"]],
    ["an IDEMPOTENT call that got ResourceExhausted", deleteItem, { code: Code.ResourceExhausted }, {}, ["a", "b"]],
    ["a non-idempotent call that never reached the instance", createItem, { code: Code.Unavailable, reached: false }, {}, ["a", "b"]],
    ["a non-idempotent call with an Idempotency-Key", createItem, { code: Code.Unavailable }, { idempotencyKey: true }, ["a", "b"]],
  ] as const)("retries %s on another instance", async (_label, method, first, extra, instances) => {
    const h = harness(["a", "b"]);
    h.script.set("a", [first]);
    const outcome = await settle(h.run(method, extra));
    expect(outcome.code).toBeUndefined();
    expect(outcome.value).toBe("ok from b");
    expect(h.calls.map((c) => c.instance)).toEqual(instances);
  });

  it.each([
    ["a non-idempotent call that reached the instance", createItem, { code: Code.Unavailable }, {}],
    ["NotFound", getItem, { code: Code.NotFound }, {}],
    ["Internal", getItem, { code: Code.Internal }, {}],
    ["the upstream's DeadlineExceeded when the call's deadline, not the attempt's, ran out", getItem, { code: Code.DeadlineExceeded }, { timeoutMs: 1000 }],
    ["a request that cannot be sent again (a stream)", getItem, { code: Code.Unavailable }, { resendable: false }],
  ] as const)("does not retry %s", async (_label, method, first, extra) => {
    const h = harness(["a", "b"]);
    h.script.set("a", [first]);
    const outcome = await settle(h.run(method, extra));
    expect(outcome.code).toBe(first.code);
    expect(h.calls).toHaveLength(1);
  });

  it("waits an exponential backoff with full jitter between attempts: exactly floor(random × 25 × 2^n) ms", async () => {
    const h = harness(["a", "b", "c"], { retry: { maxAttempts: 3, initialBackoff: durationFromMs(25), maxBackoff: durationFromMs(1000) } });
    for (const id of ["a", "b", "c"]) h.script.set(id, [{ code: Code.Unavailable }]);
    const outcome = await settle(h.run(getItem));
    expect(outcome.code).toBe(Code.Unavailable);
    const gaps = h.calls.slice(1).map((c, i) => c.at - h.calls[i]!.at);
    // random() = 0.5: 0.5 × 25 = 12, then 0.5 × 50 = 25.
    expect(gaps).toEqual([12, 25]);
    expect(new Set(h.calls.map((c) => c.instance)).size).toBe(3);
  });

  it("never retries on an instance it already tried: two instances, three attempts allowed, two made", async () => {
    const h = harness(["a", "b"], { retry: { maxAttempts: 3 } });
    h.script.set("a", [{ code: Code.Unavailable }]);
    h.script.set("b", [{ code: Code.Unavailable }]);
    await settle(h.run(getItem));
    expect(h.calls.map((c) => c.instance)).toEqual(["a", "b"]);
  });

  it("stops at max attempts", async () => {
    const h = harness(["a", "b", "c", "d"], { retry: { maxAttempts: 2 } });
    for (const id of ["a", "b", "c", "d"]) h.script.set(id, [{ code: Code.Unavailable }]);
    await settle(h.run(getItem));
    expect(h.calls).toHaveLength(2);
  });

  it("stays within the retry budget when every instance fails", async () => {
    const h = harness(["a", "b", "c"], { retry: { maxAttempts: 3, budgetRatio: 0.2, budgetMinPerSecond: 1 }, breaker: { consecutiveFailures: 1000 } });
    for (const id of ["a", "b", "c"]) h.script.set(id, [{ code: Code.Unavailable }]);
    for (let i = 0; i < 50; i++) await settle(h.run(getItem));
    const retries = h.calls.filter((c) => c.attempt > 1).length;
    // 20 % of 50 requests, plus the floor of one per second that passed.
    expect(retries).toBeLessThanOrEqual(10 + 1 + Math.ceil((Date.now() - 1_000_000) / 1000));
    expect(retries).toBeGreaterThanOrEqual(10);
    expect(h.exhausted()).toBeGreaterThan(0);
  });
});

describe("deadlines", () => {
  it("retries an upstream's DeadlineExceeded when the attempt's own timeout was the shorter", async () => {
    const h = harness(["a", "b"], { timeout: { requestTimeout: durationFromMs(1000), attemptTimeout: durationFromMs(300) } });
    h.script.set("a", [{ code: Code.DeadlineExceeded }]);
    const outcome = await settle(h.run(getItem));
    expect(outcome.code).toBeUndefined();
    expect(h.calls.map((c) => c.instance)).toEqual(["a", "b"]);
  });

  it("gives each attempt the policy's attempt timeout within the call's deadline", async () => {
    const h = harness(["a", "b"], { timeout: { requestTimeout: durationFromMs(1000), attemptTimeout: durationFromMs(300) } });
    h.script.set("a", [{ hang: true }]);
    const outcome = await settle(h.run(getItem, { timeoutMs: 500 }));
    expect(outcome.code).toBeUndefined();
    // Each attempt's deadline, less a margin (5 %, at most 10 ms) so the instance ends the call first.
    expect(h.calls.map((c) => [c.instance, c.timeoutMs])).toEqual([
      ["a", 300 - 10],
      ["b", 200 - 12 - 9],
    ]);
  });

  it("ends the call at its deadline with DeadlineExceeded, whatever the attempts do", async () => {
    const h = harness(["a"], { timeout: { requestTimeout: durationFromMs(1000) } });
    h.script.set("a", [{ hang: true }]);
    const started = Date.now();
    const outcome = await settle(h.run(getItem, { timeoutMs: 250 }));
    expect(outcome.code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - started).toBe(250);
  });

  it("answers Canceled when the caller goes away", async () => {
    const h = harness(["a"]);
    h.script.set("a", [{ hang: true }]);
    const caller = new AbortController();
    const call = h.run(getItem, { signal: caller.signal });
    await vi.advanceTimersByTimeAsync(5);
    caller.abort();
    expect((await settle(call)).code).toBe(Code.Canceled);
  });
});

describe("breakers", () => {
  it("ejects an instance after consecutive failures and probes it after exactly half_open_after", async () => {
    const h = harness(["a", "b"], { loadBalancing: 1, retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 3, halfOpenAfter: durationFromMs(2000) } });
    h.script.set("a", [{ code: Code.Unavailable }]);
    for (let i = 0; i < 6; i++) await settle(h.run(getItem));
    // Round-robin: a, b, a, b, a (third failure opens it), then only b.
    expect(h.calls.map((c) => c.instance)).toEqual(["a", "b", "a", "b", "a", "b"]);
    expect(h.pool.endpoints.get("a")?.breakerState).toBe("open");
    h.calls.length = 0;
    await vi.advanceTimersByTimeAsync(1999 - 6);
    for (let i = 0; i < 3; i++) await settle(h.run(getItem));
    expect(h.calls.map((c) => c.instance)).toEqual(["b", "b", "b"]);
    h.script.set("a", [{}]);
    await vi.advanceTimersByTimeAsync(2000);
    h.calls.length = 0;
    for (let i = 0; i < 4; i++) await settle(h.run(getItem));
    expect(h.calls.map((c) => c.instance)).toContain("a");
    expect(h.pool.endpoints.get("a")?.breakerState).toBe("closed");
  });

  it("never ejects more than max_ejection_ratio of the instances, and always leaves one", async () => {
    const h = harness(["a", "b"], { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 1, maxEjectionRatio: 0.9 } });
    h.script.set("a", [{ code: Code.Unavailable }]);
    h.script.set("b", [{ code: Code.Unavailable }]);
    for (let i = 0; i < 10; i++) await settle(h.run(getItem));
    const states = [...h.pool.endpoints.values()].map((e) => e.breakerState).sort();
    expect(states).toEqual(["closed", "open"]);
    // Every call still had an instance to go to.
    expect(h.calls).toHaveLength(10);
  });

  it("does not count the caller's own errors against an instance", async () => {
    const h = harness(["a", "b"], { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 1 } });
    h.script.set("a", [{ code: Code.NotFound }]);
    h.script.set("b", [{ code: Code.InvalidArgument }]);
    for (let i = 0; i < 10; i++) await settle(h.run(getItem));
    expect([...h.pool.endpoints.values()].map((e) => e.breakerState)).toEqual(["closed", "closed"]);
  });
});

describe("no instance", () => {
  it("answers Unavailable at once without an attempt", async () => {
    const h = harness([]);
    const outcome = await settle(h.run(getItem));
    expect(outcome.code).toBe(Code.Unavailable);
    expect(h.calls).toHaveLength(0);
  });
});
