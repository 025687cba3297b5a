import { describe, expect, it } from "vitest";
import { characterCount, checkEmail, checkIdempotencyKey, checkName, checkPageSize, checkUuid, type Violation } from "./field-checks.ts";

function run<T>(check: (out: Violation[]) => T): { result: T; reasons: string[] } {
  const out: Violation[] = [];
  const result = check(out);
  return { result, reasons: out.map((v) => v.reason) };
}

describe("field checks", () => {
  it.each([
    ["ada@example.com", true],
    ["Ada.Lovelace+tag@Example.co.uk", true],
    ["o'brien@example.ie", true],
    ["a@b.io", true],
    ["", false],
    ["ada", false],
    ["ada@", false],
    ["@example.com", false],
    ["ada@example", false],
    ["ada@exa mple.com", false],
    ["ada@-example.com", false],
    ["ada@example..com", false],
    ["a<b>@example.com", false],
    [`${"l".repeat(65)}@example.com`, false],
  ])("email %j is valid: %s", (email, valid) => {
    expect(run((out) => checkEmail(out, "user.email", email)).reasons).toHaveLength(valid ? 0 : 1);
  });

  it.each([
    ["a", 0],
    ["x".repeat(200), 0],
    ["😀".repeat(200), 0],
    ["", 1],
    [" \t ", 1],
    ["x".repeat(201), 1],
    ["😀".repeat(201), 1],
    ["a\u0000", 1],
  ])("name of %j has %i problems", (name, problems) => {
    expect(run((out) => checkName(out, "item.name", name)).reasons).toHaveLength(problems);
  });

  it("counts characters as PostgreSQL does (code points)", () => {
    expect(characterCount("😀é")).toBe(2);
    expect("😀é".length).toBe(3);
  });

  it.each([
    ["3F2C1A9E-5B7D-4C1E-9F3A-2B8C6D4E1F07", "3f2c1a9e-5b7d-4c1e-9f3a-2b8c6d4e1f07"],
    ["3f2c1a9e5b7d4c1e9f3a2b8c6d4e1f07", undefined],
    ["3f2c1a9e-5b7d-4c1e-9f3a-2b8c6d4e1f07 ", undefined],
    ["", undefined],
  ])("uuid %j reads as %j", (id, expected) => {
    expect(run((out) => checkUuid(out, "id", id)).result).toBe(expected);
  });

  it.each([
    [0, 50, 0],
    [1, 1, 0],
    [1000, 1000, 0],
    [-1, -1, 1],
    [1001, 1001, 1],
  ])("page size %i reads as %i with %i problems", (size, expected, problems) => {
    const { result, reasons } = run((out) => checkPageSize(out, "page_size", size));
    expect(result).toBe(expected);
    expect(reasons).toHaveLength(problems);
  });

  it.each([
    [null, "", undefined, 0],
    [null, "field", "field", 0],
    ["header", "field", "header", 0],
    ["", "field", "field", 0],
    [null, "k".repeat(201), "k".repeat(201), 1],
    [null, "tab\there", "tab\there", 1],
  ])("idempotency key from header %j and field %j is %j", (header, field, expected, problems) => {
    const { result, reasons } = run((out) => checkIdempotencyKey(out, header, field));
    expect(result).toBe(expected);
    expect(reasons).toHaveLength(problems);
  });
});
