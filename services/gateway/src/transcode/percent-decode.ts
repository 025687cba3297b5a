/**
 * Percent-decoding as google/api/http.proto prescribes. Each function returns undefined when the input has a
 * malformed escape (`%zz`, a lone `%`) or decodes to bytes that are not UTF-8.
 */

function decode(raw: string): string | undefined {
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/**
 * A single-segment variable (`{var}`, `{var=*}`), or a segment compared with a literal: clients encode every
 * character except `[-_.~0-9a-zA-Z]`, and the server reverses all of it, `%2F` included.
 */
export function decodeSingleSegment(raw: string): string | undefined {
  return decode(raw);
}

/**
 * A multi-segment variable (`{var=foo/*}`, `{var=**}`): clients encode every character except
 * `[-_.~/0-9a-zA-Z]`, and the server reverses it except for `%2F` and `%2f`, which are left unchanged so that
 * an escaped slash stays distinguishable from a separator.
 */
export function decodeMultiSegment(raw: string): string | undefined {
  if (!raw.includes("%")) return raw;
  const parts = raw.split(/(%2[Ff])/);
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (i % 2 === 1) {
      out += part;
      continue;
    }
    const decoded = decode(part);
    if (decoded === undefined) return undefined;
    out += decoded;
  }
  return out;
}

/** A query-string key or value (application/x-www-form-urlencoded): `+` is a space. */
export function decodeQueryComponent(raw: string): string | undefined {
  return decode(raw.includes("+") ? raw.replaceAll("+", " ") : raw);
}
