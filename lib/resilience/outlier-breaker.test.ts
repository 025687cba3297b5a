import { CircuitState, circuitBreaker, handleAll, BrokenCircuitError, ConsecutiveBreaker } from "cockatiel";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { capEjection, createOutlierBreaker } from "./outlier-breaker.ts";

const fail = () => Promise.reject(new Error("boom"));
const succeed = () => Promise.resolve("ok");

async function run(policy: ReturnType<typeof circuitBreaker>, fn: () => Promise<string>): Promise<string> {
  try {
    return await policy.execute(fn);
  } catch (err) {
    return err instanceof BrokenCircuitError ? "broken" : "failed";
  }
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => vi.useRealTimers());

describe("createOutlierBreaker", () => {
  it.each([1, 3, 5])("opens after %i consecutive failures, not before", async (threshold) => {
    const policy = circuitBreaker(handleAll, {
      halfOpenAfter: 1000,
      breaker: createOutlierBreaker({ consecutiveFailures: threshold, failureRateThreshold: 0, samplingWindowMs: 10_000, minimumRequests: 20 }),
    });
    for (let i = 1; i < threshold; i++) await run(policy, fail);
    expect(policy.state).toBe(CircuitState.Closed);
    await run(policy, fail);
    expect(policy.state).toBe(CircuitState.Open);
  });

  it("a success resets the consecutive count", async () => {
    const policy = circuitBreaker(handleAll, {
      halfOpenAfter: 1000,
      breaker: createOutlierBreaker({ consecutiveFailures: 2, failureRateThreshold: 0, samplingWindowMs: 10_000, minimumRequests: 20 }),
    });
    await run(policy, fail);
    await run(policy, succeed);
    await run(policy, fail);
    expect(policy.state).toBe(CircuitState.Closed);
  });

  it("also opens on the failure rate over the window once it has the minimum calls", async () => {
    const policy = circuitBreaker(handleAll, {
      halfOpenAfter: 1000,
      breaker: createOutlierBreaker({ consecutiveFailures: 1000, failureRateThreshold: 0.5, samplingWindowMs: 10_000, minimumRequests: 10 }),
    });
    // Alternating: never two failures in a row, but 60 % of calls fail.
    const outcomes = [fail, succeed, fail, fail, succeed, fail, succeed, fail, fail, succeed, fail, succeed];
    const states: CircuitState[] = [];
    for (const outcome of outcomes) {
      await run(policy, outcome);
      states.push(policy.state);
      vi.advanceTimersByTime(100);
    }
    expect(states.indexOf(CircuitState.Open)).toBeGreaterThanOrEqual(9);
  });

  it("lets one probe through after exactly halfOpenAfter, and closes on its success", async () => {
    const policy = circuitBreaker(handleAll, {
      halfOpenAfter: 5000,
      breaker: createOutlierBreaker({ consecutiveFailures: 1, failureRateThreshold: 0, samplingWindowMs: 10_000, minimumRequests: 20 }),
    });
    await run(policy, fail);
    vi.advanceTimersByTime(4999);
    expect(await run(policy, succeed)).toBe("broken");
    vi.advanceTimersByTime(1);
    expect(await run(policy, succeed)).toBe("ok");
    expect(policy.state).toBe(CircuitState.Closed);
  });

  it("re-opens when the half-open probe fails, for another full halfOpenAfter", async () => {
    const policy = circuitBreaker(handleAll, {
      halfOpenAfter: 2000,
      breaker: createOutlierBreaker({ consecutiveFailures: 1, failureRateThreshold: 0, samplingWindowMs: 10_000, minimumRequests: 20 }),
    });
    await run(policy, fail);
    vi.advanceTimersByTime(2000);
    expect(await run(policy, fail)).toBe("failed");
    expect(policy.state).toBe(CircuitState.Open);
    vi.advanceTimersByTime(1999);
    expect(await run(policy, succeed)).toBe("broken");
  });
});

describe("capEjection", () => {
  it.each([
    [true, CircuitState.Open],
    [false, CircuitState.Closed],
  ])("with room to eject %s, the breaker ends %s", async (room, expected) => {
    const policy = circuitBreaker(handleAll, { halfOpenAfter: 1000, breaker: capEjection(new ConsecutiveBreaker(2), () => room) });
    await run(policy, fail);
    await run(policy, fail);
    expect(policy.state).toBe(expected);
  });

  it("opens on the first failure after room is made", async () => {
    let room = false;
    const policy = circuitBreaker(handleAll, { halfOpenAfter: 1000, breaker: capEjection(new ConsecutiveBreaker(2), () => room) });
    for (let i = 0; i < 5; i++) await run(policy, fail);
    expect(policy.state).toBe(CircuitState.Closed);
    room = true;
    await run(policy, fail);
    expect(policy.state).toBe(CircuitState.Open);
  });
});
