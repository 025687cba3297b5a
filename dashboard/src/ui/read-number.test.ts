import { describe, expect, it } from "vitest";
import { createNumberReader, readNumber, type NumberRange } from "./read-number.ts";

describe("readNumber", () => {
  it.each<[string, NumberRange, number, string | undefined]>([
    ["42", { min: 1, max: 100 }, 42, undefined],
    [" 7 ", { min: 1, max: 100 }, 7, undefined],
    ["", { min: 0, max: 10, blank: 3 }, 3, undefined],
    ["", { min: 0, max: 10 }, 0, "X must be a number"],
    ["abc", { min: 0, max: 10 }, NaN, "X must be a number"],
    ["1.5", { min: 0, max: 10, integer: true }, 1.5, "X must be a whole number"],
    ["0", { min: 1, max: 86_400, unit: "s" }, 0, "X must be between 1 and 86,400 s"],
    ["0", { min: 0, max: 50_000, aboveMin: true }, 0, "X must be more than 0 and at most 50,000"],
    ["101", { min: 0, max: 100, unit: "%" }, 101, "X must be between 0 and 100 %"],
  ])("%j in %j → %s, %s", (text, range, value, error) => {
    expect(readNumber(text, "X", range)).toEqual(error === undefined ? { value } : { value, error });
  });

  it("a reader collects one message per bad field and returns every value", () => {
    const errors: Partial<Record<"a" | "b", string>> = {};
    const read = createNumberReader({ a: "5", b: "x" }, errors);
    expect(read("a", "A", { min: 0, max: 10 })).toBe(5);
    expect(read("b", "B", { min: 0, max: 10 })).toBeNaN();
    expect(errors).toEqual({ b: "B must be a number" });
  });
});
