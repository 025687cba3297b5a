import { describe, expect, it } from "vitest";
import { quoteIdent } from "./quote-ident.ts";

describe("quoteIdent", () => {
  it.each([
    ["items", '"items"'],
    ["Mixed Case", '"Mixed Case"'],
    ['say "hi"', '"say ""hi"""'],
    ["x; DROP TABLE y", '"x; DROP TABLE y"'],
  ])("quotes %j", (name, quoted) => {
    expect(quoteIdent(name)).toBe(quoted);
  });

  it.each(["", "a\0b"])("rejects %j", (name) => {
    expect(() => quoteIdent(name)).toThrow(/invalid SQL identifier/);
  });
});
