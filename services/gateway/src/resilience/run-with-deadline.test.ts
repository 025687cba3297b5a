import { isTaskCancelledError } from "cockatiel";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runWithDeadline } from "./run-with-deadline.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A task that ends only when told to, noting whether its signal aborted. */
function task() {
  let finish!: (value: string) => void;
  const seen: { signal?: AbortSignal } = {};
  const fn = (signal: AbortSignal) => {
    seen.signal = signal;
    return new Promise<string>((resolve) => (finish = resolve));
  };
  return { fn, seen, finish: (value: string) => finish(value) };
}

describe("runWithDeadline", () => {
  it("settles with the task's value, and then neither aborts its signal nor keeps a timer or a listener", async () => {
    const parent = new AbortController();
    const removed = vi.spyOn(parent.signal, "removeEventListener");
    const t = task();
    const result = runWithDeadline(1000, parent.signal, t.fn);
    t.finish("done");
    await expect(result).resolves.toBe("done");
    expect(t.seen.signal?.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    expect(removed).toHaveBeenCalledOnce();
  });

  it("keeps no timer for a deadline beyond setTimeout's range, which would otherwise fire at once", async () => {
    const t = task();
    const result = runWithDeadline(2 ** 31, new AbortController().signal, t.fn);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10);
    t.finish("late");
    await expect(result).resolves.toBe("late");
    expect(t.seen.signal?.aborted).toBe(false);
  });

  it("passes on the task's rejection", async () => {
    const failure = new Error("upstream failed");
    await expect(runWithDeadline(1000, new AbortController().signal, () => Promise.reject(failure))).rejects.toBe(failure);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects at exactly the deadline, aborting the task's signal, even while the task goes on", async () => {
    const t = task();
    const result = runWithDeadline(1000, new AbortController().signal, t.fn);
    const settled = vi.fn();
    result.catch(settled);
    await vi.advanceTimersByTimeAsync(999);
    expect(settled).not.toHaveBeenCalled();
    expect(t.seen.signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const err = settled.mock.calls[0]?.[0];
    expect(isTaskCancelledError(err)).toBe(true);
    expect((err as Error).message).toBe("Operation timed out after 1000ms");
    expect(t.seen.signal?.aborted).toBe(true);
    // The task answering late changes nothing.
    t.finish("late");
    await expect(result).rejects.toBe(err);
  });

  it("rejects at once when the caller goes away, with the caller's reason on the task's signal", async () => {
    const parent = new AbortController();
    const t = task();
    const result = runWithDeadline(1000, parent.signal, t.fn);
    parent.abort("client closed");
    await expect(result).rejects.toSatisfy(isTaskCancelledError);
    expect(t.seen.signal?.reason).toBe("client closed");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("starts aborted under a caller already gone", async () => {
    const parent = new AbortController();
    parent.abort();
    const t = task();
    await expect(runWithDeadline(1000, parent.signal, t.fn)).rejects.toSatisfy(isTaskCancelledError);
    expect(t.seen.signal?.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("passes on a task that throws before it returns a promise", async () => {
    const failure = new Error("bad arguments");
    await expect(
      runWithDeadline(1000, new AbortController().signal, () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(vi.getTimerCount()).toBe(0);
  });
});
