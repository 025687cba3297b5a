import { describe, expect, it } from "vitest";
import { pickPriority, type ReadyHead } from "./aging.ts";

const aging = 30_000;
const head = (priority: 1 | 2 | 3, readySinceMs: number): ReadyHead => ({ priority, readySinceMs });

describe("pickPriority (the aging rule of lease-12.lua)", () => {
  it.each<[string, Array<ReadyHead | undefined>, 1 | 2 | 3 | undefined]>([
    ["nothing ready", [undefined, undefined, undefined], undefined],
    ["only low", [undefined, undefined, head(3, 0)], 3],
    ["high first when all became ready together", [head(1, 0), head(2, 0), head(3, 0)], 1],
    ["medium that waited less than the aging step stays behind high", [head(1, 20_000), head(2, 0), undefined], 1],
    ["medium that waited exactly the step ties and loses to high", [head(1, 30_000), head(2, 0), undefined], 1],
    ["medium that waited longer than the step goes first", [head(1, 30_001), head(2, 0), undefined], 2],
    ["low needs twice the step over high", [head(1, 59_000), undefined, head(3, 0)], 1],
    ["low after twice the step", [head(1, 60_001), undefined, head(3, 0)], 3],
    ["low one step over medium goes before medium", [undefined, head(2, 30_001), head(3, 0)], 3],
    ["old low, but older medium", [head(1, 100_000), head(2, 0), head(3, 0)], 2],
  ])("%s", (_, heads, expected) => {
    expect(pickPriority(heads, aging)).toBe(expected);
  });

  it("serves low within 2 × aging of the high messages ready with it, however many high ones keep coming", () => {
    // A high message becomes ready every 10 ms from t = 0 while one low message is ready at t = 0. Each pick
    // takes the head of a list; high heads are served in order.
    let nextHigh = 0;
    let picks = 0;
    for (;;) {
      const choice = pickPriority([head(1, nextHigh), undefined, head(3, 0)], aging);
      if (choice === 3) break;
      nextHigh += 10;
      picks++;
    }
    expect(nextHigh).toBe(60_010);
    expect(picks).toBe(6001);
  });
});
