import { getEventListeners } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createHealthMonitor } from "./health-monitor.ts";
import type { HealthMonitor, HealthMonitorOptions } from "./health-monitor.ts";

/** A dependency check whose answer the test decides. */
function dependency(name: string) {
  let healthy = true;
  const check = vi.fn(async (_signal: AbortSignal) => {
    if (!healthy) throw new Error(`${name}: connection refused`);
  });
  return {
    check,
    up: () => void (healthy = true),
    down: () => void (healthy = false),
  };
}

const monitors: HealthMonitor[] = [];
function monitor(options: HealthMonitorOptions): HealthMonitor {
  const created = createHealthMonitor(options);
  monitors.push(created);
  return created;
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const created of monitors.splice(0)) created.close();
  vi.useRealTimers();
});

describe("createHealthMonitor", () => {
  it("serves at once when there is nothing to check", () => {
    expect(monitor({ checks: {} }).status("")).toBe("SERVING");
  });

  it("is NOT_SERVING until the first round settles, which starts at once", async () => {
    const postgres = dependency("postgres");
    const health = monitor({ checks: { postgres: postgres.check }, services: ["mesh.data.v1.DataService"] });
    expect(postgres.check).toHaveBeenCalledTimes(1);
    expect(health.statuses()).toEqual(new Map([["", "NOT_SERVING"], ["mesh.data.v1.DataService", "NOT_SERVING"]]));
    await vi.advanceTimersByTimeAsync(0);
    expect(health.statuses()).toEqual(new Map([["", "SERVING"], ["mesh.data.v1.DataService", "SERVING"]]));
  });

  it("checks again every interval, and not before", async () => {
    const postgres = dependency("postgres");
    const health = monitor({ checks: { postgres: postgres.check }, interval: 5000 });
    await vi.advanceTimersByTimeAsync(0);
    postgres.down();
    await vi.advanceTimersByTimeAsync(4999);
    expect(postgres.check).toHaveBeenCalledTimes(1);
    expect(health.status("")).toBe("SERVING");
    await vi.advanceTimersByTimeAsync(1);
    expect(postgres.check).toHaveBeenCalledTimes(2);
    expect(health.status("")).toBe("NOT_SERVING");
    expect(health.dependencies().get("postgres")).toMatchObject({
      state: "down",
      error: "postgres: connection refused",
    });
    postgres.up();
    await vi.advanceTimersByTimeAsync(5000);
    expect(health.status("")).toBe("SERVING");
  });

  it("fails a check that does not settle within the timeout, and aborts its signal", async () => {
    let signal: AbortSignal | undefined;
    const hanging = vi.fn((given: AbortSignal) => {
      signal = given;
      return new Promise<void>(() => {});
    });
    const health = monitor({ checks: { redis: hanging }, timeout: 2000 });
    await vi.advanceTimersByTimeAsync(1999);
    expect(health.dependencies().get("redis")).toEqual({ state: "unknown" });
    expect(signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(signal?.aborted).toBe(true);
    expect(health.dependencies().get("redis")).toEqual({
      state: "down",
      latencyMs: 2000,
      error: "no answer within 2000 ms",
    });
  });

  it("derives each service from the checks it depends on", async () => {
    const postgres = dependency("postgres");
    const redis = dependency("redis");
    const health = monitor({
      checks: { postgres: postgres.check, redis: redis.check },
      services: ["mesh.data.v1.DataService", "mesh.queue.v1.QueueService"],
      dependencies: { "mesh.queue.v1.QueueService": ["redis"] },
    });
    postgres.down();
    await health.checkNow();
    expect(health.statuses()).toEqual(
      new Map([
        ["", "NOT_SERVING"],
        ["mesh.data.v1.DataService", "NOT_SERVING"],
        ["mesh.queue.v1.QueueService", "SERVING"],
      ]),
    );
  });

  it("refuses dependencies on checks it does not have", () => {
    expect(() => createHealthMonitor({ checks: {}, dependencies: { "a.B": ["postgres"] } })).toThrow(
      'health dependencies of "a.B" name unknown checks: postgres',
    );
  });

  it("returns undefined for an unknown service until it is added", async () => {
    const health = monitor({ checks: {} });
    expect(health.status("mesh.data.v1.DataService")).toBeUndefined();
    health.addService("mesh.data.v1.DataService");
    expect(health.status("mesh.data.v1.DataService")).toBe("SERVING");
  });

  it("tells subscribers of each change once", async () => {
    const postgres = dependency("postgres");
    const health = monitor({ checks: { postgres: postgres.check }, services: ["a.A"] });
    const changes: [string, string][] = [];
    health.subscribe((service, status) => changes.push([service, status]));
    await health.checkNow();
    await health.checkNow();
    postgres.down();
    await health.checkNow();
    expect(changes).toEqual([
      ["", "SERVING"],
      ["a.A", "SERVING"],
      ["", "NOT_SERVING"],
      ["a.A", "NOT_SERVING"],
    ]);
  });

  it("runs one more round when asked during a round", async () => {
    const postgres = dependency("postgres");
    const health = monitor({ checks: { postgres: postgres.check } });
    // The first round started at creation; its result predates the change below.
    postgres.down();
    const [first, second] = [health.checkNow(), health.checkNow()];
    expect(first).toBe(second);
    await first;
    expect(postgres.check).toHaveBeenCalledTimes(2);
    expect(health.status("")).toBe("NOT_SERVING");
  });

  it("drains: everything NOT_SERVING at once, and no more checks", async () => {
    const postgres = dependency("postgres");
    const health = monitor({ checks: { postgres: postgres.check }, services: ["a.A"] });
    await health.checkNow();
    const changes: string[] = [];
    health.subscribe((service, status) => changes.push(`${service}=${status}`));
    health.setDraining();
    expect(changes).toEqual(["=NOT_SERVING", "a.A=NOT_SERVING"]);
    await health.checkNow();
    expect(health.status("")).toBe("NOT_SERVING");
    const calls = postgres.check.mock.calls.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(postgres.check).toHaveBeenCalledTimes(calls);
  });

  it("logs a dependency going down and coming back, not every failing round", async () => {
    const postgres = dependency("postgres");
    const logger = { info: vi.fn(), warn: vi.fn() };
    const health = monitor({ checks: { postgres: postgres.check }, logger });
    postgres.down();
    await health.checkNow();
    await health.checkNow();
    postgres.up();
    await health.checkNow();
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.objectContaining({ check: "postgres", error: "postgres: connection refused" }),
      "health check failing",
    );
    expect(logger.info).toHaveBeenCalledTimes(1);
    expect(logger.info).toHaveBeenCalledWith(expect.objectContaining({ check: "postgres" }), "health check passing again");
  });

  it("close clears its timer and aborts running checks", async () => {
    let signal: AbortSignal | undefined;
    const health = createHealthMonitor({
      checks: {
        postgres: (given) => {
          signal = given;
          return new Promise(() => {});
        },
      },
    });
    expect(vi.getTimerCount()).toBe(2);
    health.close();
    expect(signal?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("watch", () => {
  it("yields the status now, then each change", async () => {
    const postgres = dependency("postgres");
    const health = monitor({ checks: { postgres: postgres.check } });
    await health.checkNow();
    const watch = health.watch("")[Symbol.asyncIterator]();
    expect(await watch.next()).toEqual({ done: false, value: "SERVING" });
    const next = watch.next();
    postgres.down();
    await health.checkNow();
    expect(await next).toEqual({ done: false, value: "NOT_SERVING" });
    await watch.return?.();
  });

  it("coalesces changes the reader missed to the latest status", async () => {
    const postgres = dependency("postgres");
    const health = monitor({ checks: { postgres: postgres.check } });
    await health.checkNow();
    const watch = health.watch("")[Symbol.asyncIterator]();
    expect((await watch.next()).value).toBe("SERVING");
    postgres.down();
    await health.checkNow();
    postgres.up();
    await health.checkNow();
    health.setDraining();
    expect((await watch.next()).value).toBe("NOT_SERVING");
    await watch.return?.();
  });

  it("says SERVICE_UNKNOWN, then the status once the service is added", async () => {
    const health = monitor({ checks: {} });
    const watch = health.watch("a.A")[Symbol.asyncIterator]();
    expect((await watch.next()).value).toBe("SERVICE_UNKNOWN");
    const next = watch.next();
    health.addService("a.A");
    expect((await next).value).toBe("SERVING");
    await watch.return?.();
  });

  it("ends when its signal aborts", async () => {
    const health = monitor({ checks: {} });
    const controller = new AbortController();
    const watch = health.watch("", controller.signal)[Symbol.asyncIterator]();
    await watch.next();
    const next = watch.next();
    controller.abort();
    expect(await next).toEqual({ done: true, value: undefined });
  });

  it("lets go of its signal when aborted while the reader is away", async () => {
    const health = monitor({ checks: {} });
    const controller = new AbortController();
    const watch = health.watch("", controller.signal)[Symbol.asyncIterator]();
    await watch.next();
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    controller.abort();
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  it("ends when the monitor closes", async () => {
    const health = monitor({ checks: {} });
    const watch = health.watch("")[Symbol.asyncIterator]();
    await watch.next();
    const next = watch.next();
    health.close();
    expect(await next).toEqual({ done: true, value: undefined });
  });
});
