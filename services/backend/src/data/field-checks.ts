import { decodePageToken, type PageCursor, type PageScope } from "./page-token.ts";

/** One problem with one request field, as google.rpc.BadRequest reports it. */
export interface Violation {
  readonly field: string;
  readonly reason: string;
}

const uuidPattern = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const controlCharacters = /[\u0000-\u001f\u007f]/;

/** Characters as PostgreSQL's char_length counts them: code points, not UTF-16 units. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** A UUID in canonical lower case, or undefined after recording why not. */
export function checkUuid(out: Violation[], field: string, id: string): string | undefined {
  if (id === "") {
    out.push({ field, reason: "is required" });
    return undefined;
  }
  if (!uuidPattern.test(id)) {
    out.push({ field, reason: "must be a UUID such as 3f2c1a9e-5b7d-4c1e-9f3a-2b8c6d4e1f07" });
    return undefined;
  }
  return id.toLowerCase();
}

/** A display name: 1 to `max` characters, not blank, without U+0000 (SQL metacharacters are fine). */
export function checkName(out: Violation[], field: string, name: string, max = 200): void {
  if (name === "") {
    out.push({ field, reason: "is required" });
    return;
  }
  const length = characterCount(name);
  if (length > max) out.push({ field, reason: `must be at most ${max} characters, got ${length}` });
  else if (name.includes("\u0000")) out.push({ field, reason: "must not contain U+0000" });
  else if (name.trim() === "") out.push({ field, reason: "must not be blank" });
}

/** page_size: 0 means `fallback`; otherwise 1 to `max`. */
export function checkPageSize(out: Violation[], field: string, size: number, fallback = 50, max = 1000): number {
  if (size === 0) return fallback;
  if (size < 0 || size > max) out.push({ field, reason: `must be between 1 and ${max} (0 means ${fallback}), got ${size}` });
  return size;
}

/** An expected version: zero (no check) or positive. */
export function checkExpectedVersion(out: Violation[], field: string, version: bigint): bigint | undefined {
  if (version < 0n) {
    out.push({ field, reason: "must be zero (no check) or the version last read" });
    return undefined;
  }
  return version === 0n ? undefined : version;
}

/**
 * The idempotency key of a create: the `Idempotency-Key` header wins over the request field. 1 to 200
 * characters without control characters.
 */
export function checkIdempotencyKey(out: Violation[], header: string | null, field: string): string | undefined {
  const [name, key] = header !== null && header !== "" ? ["Idempotency-Key", header] : ["idempotency_key", field];
  if (key === "") return undefined;
  if (characterCount(key) > 200) out.push({ field: name, reason: "must be at most 200 characters" });
  else if (controlCharacters.test(key)) out.push({ field: name, reason: "must not contain control characters" });
  return key;
}

const emailPattern = /^[^\s@"(),:;<>[\\\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

/** An email address: a local part, `@`, and a domain of dot-separated labels; at most 320 characters. */
export function checkEmail(out: Violation[], field: string, email: string): void {
  if (email === "") {
    out.push({ field, reason: "is required" });
    return;
  }
  if (characterCount(email) > 320) {
    out.push({ field, reason: "must be at most 320 characters" });
    return;
  }
  const at = email.lastIndexOf("@");
  if (!emailPattern.test(email) || at > 64) {
    out.push({ field, reason: "must be an email address such as ada@example.com" });
  }
}

/** The cursor of a page token (undefined for the first page), or undefined after recording why not. */
export function checkPageToken(
  out: Violation[],
  field: string,
  token: string,
  scope: PageScope,
  validKey: (key: string) => boolean,
): PageCursor | undefined {
  if (token === "") return undefined;
  const decoded = decodePageToken(token, scope, validKey);
  if ("reason" in decoded) {
    out.push({ field, reason: decoded.reason });
    return undefined;
  }
  return decoded;
}
