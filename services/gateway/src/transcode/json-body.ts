import { isUtf8 } from "node:buffer";
import type { JsonValue } from "@bufbuild/protobuf";

/** Where and why a JSON text is malformed. Line and column count from 1; offset from 0, in characters. */
export interface JsonSyntaxProblem {
  readonly reason: string;
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

export type ParsedJson =
  | {
      ok: true;
      value: JsonValue;
      /** Set when the text has integers too large for a double; see exactBigIntegers. */
      bigIntegers: BigIntegerSources | undefined;
      /** The source text of the whole body when it is such an integer by itself. */
      rootSource: string | undefined;
    }
  | { ok: false; problem: string };

/**
 * Integer literals too large for a double to hold exactly, by holder (object or array) and key: the source
 * text, so that an int64 field can get the exact value instead of the rounded number JSON.parse produces.
 */
export type BigIntegerSources = WeakMap<object, Map<string, string>>;

const longDigitRun = /\d{16}/;

/** Deeper JSON is refused before decoding: protobuf decoders and encoders recurse per level. */
export const maxJsonDepth = 100;

/**
 * Parses a request body as JSON. The bytes must be UTF-8 (a BOM is skipped). On failure the problem says
 * where: `invalid UTF-8 at byte 12`, or `expected ',' or '}' at line 3, column 7`.
 */
export function parseJsonBody(bytes: Uint8Array): ParsedJson {
  if (!isUtf8(bytes)) return { ok: false, problem: `invalid UTF-8 at byte ${firstInvalidUtf8(bytes)}` };
  let text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length > 2 * maxJsonDepth && depthExceeds(text, maxJsonDepth)) {
    return { ok: false, problem: `nested deeper than ${maxJsonDepth} levels` };
  }
  try {
    if (!longDigitRun.test(text)) {
      return { ok: true, value: JSON.parse(text) as JsonValue, bigIntegers: undefined, rootSource: undefined };
    }
    const bigIntegers: BigIntegerSources = new WeakMap();
    let rootSource: string | undefined;
    const value = JSON.parse(text, function (this: object, key: string, parsed: unknown, context?: { source?: string }) {
      const source = context?.source;
      if (typeof parsed === "number" && !Number.isSafeInteger(parsed) && source !== undefined && /^-?\d+$/.test(source)) {
        let keys = bigIntegers.get(this);
        if (!keys) bigIntegers.set(this, (keys = new Map()));
        keys.set(key, source);
        if (key === "" && Object.keys(this).length === 1) rootSource = source;
      }
      return parsed;
    }) as JsonValue;
    return { ok: true, value, bigIntegers, rootSource };
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    const problem = locateJsonSyntaxError(text);
    return {
      ok: false,
      problem: problem ? `${problem.reason} at line ${problem.line}, column ${problem.column}` : "malformed JSON",
    };
  }
}

/** True when arrays and objects nest deeper than `limit` (brackets inside strings do not count). */
function depthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 || c === 91) {
      if (++depth > limit) return true;
    } else if (c === 125 || c === 93) {
      depth--;
    }
  }
  return false;
}

/** Byte offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    // Overlong three- and four-byte forms, surrogates and code points past U+10FFFF.
    const c1 = bytes[i + 1] ?? 0;
    if ((b === 0xe0 && c1 < 0xa0) || (b === 0xed && c1 > 0x9f) || (b === 0xf0 && c1 < 0x90) || (b === 0xf4 && c1 > 0x8f)) return i;
    i += need + 1;
  }
  return i;
}

/**
 * Finds the first syntax error of a JSON text (RFC 8259). JSON.parse's own messages are inconsistent about
 * the position and may quote the whole input, so the text is scanned again, only when parsing failed.
 */
export function locateJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  let pos = 0;
  const problem = (reason: string, at = pos): JsonSyntaxProblem => {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < text.length; i++) {
      if (text.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    return { reason, offset: at, line, column: at - lineStart + 1 };
  };
  const describe = (at: number) => (at >= text.length ? "end of input" : JSON.stringify(text[at]));
  const skipSpace = () => {
    while (pos < text.length && " \t\n\r".includes(text[pos]!)) pos++;
  };
  // An explicit stack instead of recursion: deeply nested input must not overflow ours. `fresh` is true
  // until the container's first member.
  const stack: Array<{ kind: "object" | "array"; fresh: boolean }> = [];

  const value = (): JsonSyntaxProblem | undefined => {
    skipSpace();
    const c = text[pos];
    if (c === "{" || c === "[") {
      stack.push({ kind: c === "{" ? "object" : "array", fresh: true });
      pos++;
      return undefined;
    }
    if (c === '"') return string();
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return number();
    for (const word of ["true", "false", "null"]) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return undefined;
      }
    }
    return problem(`unexpected ${describe(pos)}, expected a value`);
  };
  const string = (): JsonSyntaxProblem | undefined => {
    pos++;
    while (pos < text.length) {
      const code = text.charCodeAt(pos);
      if (code === 34) {
        pos++;
        return undefined;
      }
      if (code < 0x20) return problem("control character in a string (escape it)");
      if (code === 92) {
        const e = text[pos + 1];
        if (e === "u") {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(pos + 2, pos + 6))) return problem("bad \\u escape: expected four hex digits");
          pos += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) return problem(`bad escape \\${e ?? ""}`);
        pos += 2;
        continue;
      }
      pos++;
    }
    return problem("unterminated string");
  };
  const number = (): JsonSyntaxProblem | undefined => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(pos, pos + 1000));
    if (!match || match[0] === "-") return problem("malformed number");
    pos += match[0].length;
    if (/[0-9.eE]/.test(text[pos] ?? "")) return problem("malformed number");
    return undefined;
  };

  let err = value();
  while (!err) {
    const top = stack.at(-1);
    skipSpace();
    if (top === undefined) {
      return pos < text.length ? problem(`unexpected ${describe(pos)} after the JSON value`) : undefined;
    }
    const close = top.kind === "object" ? "}" : "]";
    if (text[pos] === close && top.fresh) {
      pos++;
      stack.pop();
      continue;
    }
    if (!top.fresh) {
      if (text[pos] === close) {
        pos++;
        stack.pop();
        continue;
      }
      if (text[pos] !== ",") return problem(`expected ',' or '${close}' but found ${describe(pos)}`);
      pos++;
      skipSpace();
    }
    top.fresh = false;
    if (top.kind === "object") {
      if (text[pos] !== '"') return problem(`expected a double-quoted property name but found ${describe(pos)}`);
      err = string();
      if (err) break;
      skipSpace();
      if (text[pos] !== ":") return problem(`expected ':' after the property name but found ${describe(pos)}`);
      pos++;
    }
    err = value();
  }
  return err;
}
