import { createHash } from "node:crypto";

/** Where the next page starts: after the row with this sort key and id. */
export interface PageCursor {
  /** The sort key of the last row, as text: a timestamp (`2026-11-05T10:00:00.123456Z`) or a name. */
  readonly key: string;
  readonly id: string;
}

/** What a token may only be used with: the listing's filter and order, such as `items|status=1|order=1|desc=0`. */
export type PageScope = string;

const tokenVersion = 1;
const maxTokenLength = 2048;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function scopeHash(scope: PageScope): string {
  return createHash("sha256").update(scope).digest("base64url").slice(0, 16);
}

/** An opaque token: base64url JSON of the cursor and a hash of the scope it belongs to. */
export function encodePageToken(cursor: PageCursor, scope: PageScope): string {
  return Buffer.from(JSON.stringify({ v: tokenVersion, k: cursor.key, i: cursor.id, f: scopeHash(scope) })).toString("base64url");
}

const notOurs = "is not a page token of this service: pass `next_page_token` from the previous response unchanged, or omit it for the first page";

/**
 * The cursor of `token`, or the reason it is refused: malformed, a sort key that fails `validKey`, or issued
 * for another scope (another filter or order).
 */
export function decodePageToken(token: string, scope: PageScope, validKey: (key: string) => boolean): PageCursor | { reason: string } {
  if (token.length > maxTokenLength || !/^[A-Za-z0-9_-]+$/.test(token)) return { reason: notOurs };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    return { reason: notOurs };
  }
  if (typeof parsed !== "object" || parsed === null) return { reason: notOurs };
  const { v, k, i, f } = parsed as Record<string, unknown>;
  if (v !== tokenVersion || typeof k !== "string" || typeof i !== "string" || typeof f !== "string") return { reason: notOurs };
  if (!uuidPattern.test(i) || !validKey(k)) return { reason: notOurs };
  if (f !== scopeHash(scope)) {
    return { reason: "was issued for a different filter or order: use it with the same request fields as the call that returned it" };
  }
  return { key: k, id: i };
}
