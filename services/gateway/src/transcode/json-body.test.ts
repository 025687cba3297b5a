import { describe, expect, it } from "vitest";
import { locateJsonSyntaxError, parseJsonBody } from "./json-body.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("parseJsonBody", () => {
  it("parses JSON and skips a BOM", () => {
    expect(parseJsonBody(bytes('\uFEFF{"a":[1,"x",null]}'))).toMatchObject({ ok: true, value: { a: [1, "x", null] } });
  });

  it.each([
    ['{"a":}', 'unexpected "}", expected a value at line 1, column 6'],
    ['{"a":1', "expected ',' or '}' but found end of input at line 1, column 7"],
    ['{"a" 1}', "expected ':' after the property name but found \"1\" at line 1, column 6"],
    ["[1,2,]", 'unexpected "]", expected a value at line 1, column 6'],
    ['{\n  "a": 1,\n  "b": tru\n}', 'unexpected "t", expected a value at line 3, column 8'],
    ['{"a":1,}', "expected a double-quoted property name but found \"}\" at line 1, column 8"],
    ["{a:1}", 'expected a double-quoted property name but found "a" at line 1, column 2'],
    ['{"a":01}', "malformed number at line 1, column 7"],
    ['"\\q"', "bad escape \\q at line 1, column 2"],
    ['"a\nb"', "control character in a string (escape it) at line 1, column 3"],
    ['{"a":1} x', 'unexpected "x" after the JSON value at line 1, column 9'],
    ['"abc', "unterminated string at line 1, column 5"],
    ['{"a":"\\u12"}', "bad \\u escape: expected four hex digits at line 1, column 7"],
  ])("says where %j is malformed", (text, problem) => {
    expect(parseJsonBody(bytes(text))).toEqual({ ok: false, problem });
  });

  it.each([
    [[0x7b, 0x22, 0xff, 0x22, 0x7d], 2],
    [[0x22, 0xc3, 0x22], 1],
    [[0x22, 0xed, 0xa0, 0x80, 0x22], 1],
    [[0x22, 0xe0, 0x80, 0x80, 0x22], 1],
  ])("reports invalid UTF-8 %j at byte %d", (input, at) => {
    expect(parseJsonBody(new Uint8Array(input))).toEqual({ ok: false, problem: `invalid UTF-8 at byte ${at}` });
  });

  it("keeps the source of integers a double cannot hold", () => {
    const parsed = parseJsonBody(bytes('{"a": 9007199254740993, "b": [18446744073709551615], "c": 1.5e300}'));
    if (!parsed.ok) throw new Error(parsed.problem);
    const root = parsed.value as { b: unknown[] };
    expect(parsed.bigIntegers?.get(parsed.value as object)?.get("a")).toBe("9007199254740993");
    expect(parsed.bigIntegers?.get(root.b)?.get("0")).toBe("18446744073709551615");
    expect(parsed.bigIntegers?.get(parsed.value as object)?.has("c")).toBe(false);
  });

  it("refuses nesting deeper than 100 levels", () => {
    expect(parseJsonBody(bytes(`${"[".repeat(101)}${"]".repeat(101)}`))).toEqual({ ok: false, problem: "nested deeper than 100 levels" });
    expect(parseJsonBody(bytes(`${"[".repeat(100)}${"]".repeat(100)}`)).ok).toBe(true);
    expect(parseJsonBody(bytes(JSON.stringify({ s: "[".repeat(500) })))).toMatchObject({ ok: true });
  });

  it("scans deep nesting without recursion", () => {
    const deep = "[".repeat(100_000);
    expect(locateJsonSyntaxError(deep)?.reason).toBe("unexpected end of input, expected a value");
  });

  it.each(["{}", "[]", '{"a":[{"b":null}],"c":"\\u00e9\\n"}', "-0.5e+3", " true "])("accepts valid %j", (text) => {
    expect(locateJsonSyntaxError(text)).toBeUndefined();
  });
});
