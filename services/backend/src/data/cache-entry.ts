/**
 * One cached entity, as stored in Valkey: `<version>:<kind>` followed by the payload. The version prefix is
 * what the Lua scripts compare so that an older load never replaces a newer write.
 * - `V`: the entity, as protobuf binary;
 * - `N`: the entity does not exist (or is deleted): a cached NotFound;
 * - `T`: a tombstone left by a write: read as a miss.
 */
export type CacheEntry =
  | { readonly kind: "value"; readonly version: bigint; readonly payload: Uint8Array }
  | { readonly kind: "missing"; readonly version: bigint }
  | { readonly kind: "tombstone"; readonly version: bigint };

const kindChars = { value: "V", missing: "N", tombstone: "T" } as const;
const colon = 0x3a;

export function encodeCacheEntry(entry: CacheEntry): Buffer {
  const head = Buffer.from(`${entry.version}:${kindChars[entry.kind]}`, "latin1");
  return entry.kind === "value" ? Buffer.concat([head, entry.payload]) : head;
}

/** Undefined for anything that is not a well-formed entry (treated as a miss). */
export function decodeCacheEntry(data: Buffer): CacheEntry | undefined {
  const sep = data.indexOf(colon);
  if (sep < 1 || sep > 20 || data.length < sep + 2) return undefined;
  const digits = data.toString("latin1", 0, sep);
  if (!/^\d+$/.test(digits)) return undefined;
  const version = BigInt(digits);
  switch (data[sep + 1]) {
    case 0x56: // V
      return { kind: "value", version, payload: data.subarray(sep + 2) };
    case 0x4e: // N
      return { kind: "missing", version };
    case 0x54: // T
      return { kind: "tombstone", version };
    default:
      return undefined;
  }
}
