import { describe, expect, it } from "vitest";
import { createCoalescedRefresh } from "./coalesced-refresh.ts";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("createCoalescedRefresh", () => {
  it("folds calls during a run into one more run", async () => {
    const gates: Array<ReturnType<typeof deferred>> = [];
    let runs = 0;
    const refresh = createCoalescedRefresh(() => {
      runs += 1;
      const gate = deferred();
      gates.push(gate);
      return gate.promise;
    });
    const first = refresh();
    void refresh();
    void refresh();
    expect(runs).toBe(1);
    gates[0]!.resolve();
    await Promise.resolve();
    await Promise.resolve();
    expect(runs).toBe(2);
    gates[1]!.resolve();
    await first;
    expect(runs).toBe(2);
    void refresh();
    expect(runs).toBe(3);
  });

  it("keeps going after a failed refresh", async () => {
    let runs = 0;
    const refresh = createCoalescedRefresh(async () => {
      runs += 1;
      throw new Error("down");
    });
    await refresh();
    await refresh();
    expect(runs).toBe(2);
  });
});
