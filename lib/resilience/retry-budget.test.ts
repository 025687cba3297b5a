import { describe, expect, it } from "vitest";
import { createRetryBudget } from "./retry-budget.ts";

function budgetAt(ratio: number, minPerSecond: number) {
  let t = 1_000_000;
  const budget = createRetryBudget({ ratio, minPerSecond, now: () => t });
  return { budget, advance: (ms: number) => (t += ms) };
}

function withdrawals(budget: ReturnType<typeof createRetryBudget>, tries: number): number {
  let granted = 0;
  for (let i = 0; i < tries; i++) if (budget.withdraw()) granted++;
  return granted;
}

describe("retry budget", () => {
  it.each([
    // ratio, floor per second, requests, retries asked, retries granted
    [0.2, 0, 100, 100, 20],
    [0.2, 10, 100, 100, 20],
    [0.2, 10, 10, 100, 10],
    [0.5, 0, 10, 100, 5],
    [0, 3, 1000, 100, 3],
    [1, 0, 7, 100, 7],
  ])("ratio %f with a floor of %i per second: after %i requests grants %i of %i retries as %i", (ratio, floor, requests, asked, granted) => {
    const { budget } = budgetAt(ratio, floor);
    for (let i = 0; i < requests; i++) budget.deposit();
    expect(withdrawals(budget, asked)).toBe(granted);
  });

  it("renews the floor every second", () => {
    const { budget, advance } = budgetAt(0, 2);
    expect(withdrawals(budget, 5)).toBe(2);
    advance(1000);
    expect(withdrawals(budget, 5)).toBe(2);
  });

  it("forgets requests and retries older than the window", () => {
    const { budget, advance } = budgetAt(0.2, 0);
    for (let i = 0; i < 100; i++) budget.deposit();
    expect(withdrawals(budget, 20)).toBe(20);
    advance(5000);
    expect(withdrawals(budget, 1)).toBe(0);
    advance(5000);
    // The window has moved past both the requests and the retries.
    expect(withdrawals(budget, 1)).toBe(0);
    for (let i = 0; i < 10; i++) budget.deposit();
    expect(withdrawals(budget, 5)).toBe(2);
  });

  it("applies a new ratio at once", () => {
    const { budget } = budgetAt(0.1, 0);
    for (let i = 0; i < 100; i++) budget.deposit();
    expect(withdrawals(budget, 50)).toBe(10);
    budget.configure(0.3, 0);
    expect(withdrawals(budget, 50)).toBe(20);
  });
});
