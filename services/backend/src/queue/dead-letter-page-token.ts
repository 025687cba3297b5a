import type { DeadLetterCursor } from "./queue-engine.ts";

/** Opaque page token of ListDeadLetters: base64url of [dead-letter ms, id] of the page's last item. */
export function encodePageToken(cursor: DeadLetterCursor): string {
  return Buffer.from(JSON.stringify([cursor.deadLetterMs, cursor.id])).toString("base64url");
}

export function decodePageToken(token: string): DeadLetterCursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [ms, id] = value as [unknown, unknown];
    if (typeof ms !== "string" || !/^\d{1,16}$/.test(ms) || typeof id !== "string" || id.length === 0 || id.length > 200) return undefined;
    return { deadLetterMs: ms, id };
  } catch {
    return undefined;
  }
}
