import { describe, expect, it } from "vitest";
import { createSingleFlight } from "./single-flight.ts";

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const live = () => new AbortController().signal;

describe("single flight", () => {
  it("runs the work once for concurrent callers of one key and shares the result", async () => {
    const flights = createSingleFlight();
    const gate = deferred<string>();
    let runs = 0;
    const work = () => {
      runs++;
      return gate.promise;
    };
    const callers = Array.from({ length: 10 }, () => flights.run("k", live(), work));
    const other = flights.run("other", live(), async () => "other");
    gate.resolve("value");
    expect(await Promise.all(callers)).toEqual(Array(10).fill("value"));
    expect(await other).toBe("other");
    expect(runs).toBe(1);
    expect(flights.size).toBe(0);
  });

  it("treats keys named like Object.prototype's members as any other, and counts what is in flight", async () => {
    const flights = createSingleFlight();
    const gates = ["__proto__", "constructor", "toString", "hasOwnProperty"].map((key) => ({ key, gate: deferred<string>() }));
    let runs = 0;
    const first = gates.map(({ key, gate }) =>
      flights.run(key, live(), () => {
        runs++;
        return gate.promise;
      }),
    );
    const joined = gates.map(({ key }) => flights.run(key, live(), () => Promise.resolve("not run")));
    expect(flights.size).toBe(4);
    for (const { key, gate } of gates) gate.resolve(key);
    expect(await Promise.all(first)).toEqual(gates.map((g) => g.key));
    expect(await Promise.all(joined)).toEqual(gates.map((g) => g.key));
    expect(runs).toBe(4);
    expect(flights.size).toBe(0);
  });

  it("counts a key once when an abandoned flight finishes after a new one on the same key started", async () => {
    const flights = createSingleFlight();
    const old = deferred<string>();
    const leaving = new AbortController();
    const abandoned = flights.run("k", leaving.signal, () => old.promise);
    leaving.abort(new Error("gone"));
    await expect(abandoned).rejects.toThrow("gone");
    expect(flights.size).toBe(0);
    const fresh = deferred<string>();
    const next = flights.run("k", live(), () => fresh.promise);
    expect(flights.size).toBe(1);
    old.resolve("late");
    await new Promise((r) => setImmediate(r));
    expect(flights.size).toBe(1);
    const joined = flights.run("k", live(), async () => "not run");
    fresh.resolve("fresh");
    expect(await next).toBe("fresh");
    expect(await joined).toBe("fresh");
    expect(flights.size).toBe(0);
  });

  it("shares a failure, then runs afresh for the next caller", async () => {
    const flights = createSingleFlight();
    const failing = Promise.all([
      flights.run("k", live(), () => Promise.reject(new Error("down"))),
      flights.run("k", live(), () => Promise.resolve("never")),
    ]);
    await expect(failing).rejects.toThrow("down");
    expect(await flights.run("k", live(), async () => "again")).toBe("again");
  });

  it("lets a caller leave on its own signal while the others keep waiting", async () => {
    const flights = createSingleFlight();
    const gate = deferred<string>();
    let workSignal: AbortSignal | undefined;
    const leaving = new AbortController();
    const first = flights.run("k", leaving.signal, (signal) => {
      workSignal = signal;
      return gate.promise;
    });
    const second = flights.run("k", live(), () => Promise.resolve("unused"));
    leaving.abort(new Error("caller went away"));
    await expect(first).rejects.toThrow("caller went away");
    expect(workSignal!.aborted).toBe(false);
    gate.resolve("value");
    expect(await second).toBe("value");
  });

  it("aborts the work when every caller has left, and starts afresh for the next one", async () => {
    const flights = createSingleFlight();
    const caller = new AbortController();
    let workSignal: AbortSignal | undefined;
    const abandoned = flights.run("k", caller.signal, (signal) => {
      workSignal = signal;
      return new Promise<string>((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    });
    caller.abort(new Error("gone"));
    await expect(abandoned).rejects.toThrow("gone");
    expect(workSignal!.aborted).toBe(true);
    expect(await flights.run("k", live(), async () => "fresh")).toBe("fresh");
  });
});
