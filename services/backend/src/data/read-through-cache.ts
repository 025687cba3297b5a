import { createHash } from "node:crypto";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import type { Call } from "./call-context.ts";
import type { CacheCaller, CacheClient } from "./cache-client.ts";
import { decodeCacheEntry, encodeCacheEntry } from "./cache-entry.ts";
import type { DataMetrics } from "./data-metrics.ts";
import { createSingleFlight } from "./single-flight.ts";

/** What a load from PostgreSQL found: the entity's bytes and version, or that it does not exist. */
export type Loaded = { readonly version: bigint; readonly payload: Uint8Array | undefined };

export interface ReadResult {
  /** Undefined when the entity does not exist (or is deleted). */
  readonly payload: Uint8Array | undefined;
  /** True when served from Valkey. */
  readonly cached: boolean;
}

export interface ReadThroughCacheOptions {
  /** Time to live of entities and list pages. @default 300 000 */
  ttlMs?: number;
  /** Time to live of a cached NotFound. @default 5000 */
  negativeTtlMs?: number;
  /** Prefix of every key. @default "mesh:data:" */
  keyPrefix?: string;
  /** Invalidations remembered while Valkey is unavailable, beyond which the whole entity cache is skipped. @default 10 000 */
  maxPending?: number;
  /** How often remembered invalidations are retried. @default 1000 */
  drainIntervalMs?: number;
  /** @default Date.now */
  now?: () => number;
}

export interface ReadThroughCacheDeps {
  client: CacheClient;
  logger: Logger;
  metrics: Pick<DataMetrics, "cacheHits" | "cacheMisses">;
}

export interface ReadThroughCache {
  /** One entity of `cache` ("item", "user") by id, from Valkey or else from `load` (once per key at a time). */
  entity(call: Call, cache: string, id: string, load: (call: Call) => Promise<Loaded>): Promise<ReadResult>;
  /** One list page of `collection` ("items", "users") for `query`, cached under the collection's generation. */
  page(call: Call, collection: string, query: string, load: (call: Call) => Promise<Uint8Array>): Promise<{ payload: Uint8Array; cached: boolean }>;
  /** After a commit that changed an entity: tombstones it and moves its collection to a new generation. */
  invalidate(call: Call, collection: string, cache: string, id: string, version: bigint): Promise<void>;
  /** After a commit that added an entity: moves its collection to a new generation. */
  bump(call: Call, collection: string): Promise<void>;
  /** Key names, for tests and operators. */
  readonly keys: {
    entity(cache: string, id: string): string;
    generation(collection: string): string;
    page(collection: string, generation: string, query: string): string;
  };
  /** Invalidations not yet written to Valkey. */
  readonly pending: number;
  close(): void;
}

const never = new AbortController().signal;

/**
 * The read-through cache over Valkey. Never throws for Valkey's sake: with Valkey down or slow every read is
 * served from PostgreSQL. Invalidations that cannot reach Valkey are remembered, their keys are read from
 * PostgreSQL meanwhile, and they are written as soon as Valkey answers again, before it serves those keys.
 */
export function createReadThroughCache(deps: ReadThroughCacheDeps, options: ReadThroughCacheOptions = {}): ReadThroughCache {
  const { client, logger, metrics } = deps;
  const ttlMs = options.ttlMs ?? 300_000;
  const negativeTtlMs = options.negativeTtlMs ?? 5000;
  const prefix = options.keyPrefix ?? "mesh:data:";
  const maxPending = options.maxPending ?? 10_000;
  const now = options.now ?? Date.now;
  const flights = createSingleFlight();

  const keys = {
    entity: (cache: string, id: string) => `${prefix}${cache}:${id}`,
    generation: (collection: string) => `${prefix}${collection}:gen`,
    page: (collection: string, generation: string, query: string) =>
      `${prefix}${collection}:page:${generation}:${createHash("sha256").update(query).digest("base64url").slice(0, 22)}`,
  };

  /** Entity key → its collection's generation key and the newest committed version to invalidate. */
  const pendingEntities = new Map<string, { generationKey: string; version: bigint }>();
  const pendingGenerations = new Set<string>();
  /** Set when too many invalidations were pending to remember each: entity reads skip Valkey until then. */
  let skipEntitiesUntil = 0;
  let overflowed = false;
  let draining: Promise<void> | undefined;

  const entityStale = (key: string) => overflowed || now() < skipEntitiesUntil || pendingEntities.has(key);

  function remember(key: string | undefined, generationKey: string, version: bigint): void {
    pendingGenerations.add(generationKey);
    if (key === undefined || overflowed) return;
    const known = pendingEntities.get(key);
    if (known === undefined && pendingEntities.size >= maxPending) {
      overflowed = true;
      pendingEntities.clear();
      logger.warn({ maxPending }, "too many cache invalidations pending: entity reads skip Valkey until it is back");
      return;
    }
    if (known === undefined || known.version < version) pendingEntities.set(key, { generationKey, version });
  }

  async function drain(): Promise<void> {
    const caller: CacheCaller = { signal: never, procedure: undefined };
    for (const [key, { generationKey, version }] of [...pendingEntities]) {
      await client.invalidateEntry(caller, key, generationKey, encodeCacheEntry({ kind: "tombstone", version }), version, ttlMs);
      if (pendingEntities.get(key)?.version === version) pendingEntities.delete(key);
    }
    for (const generationKey of [...pendingGenerations]) {
      await client.bumpGeneration(caller, generationKey);
      pendingGenerations.delete(generationKey);
    }
    if (overflowed) {
      // Entries cached before the outage may be stale; after one TTL none of them is left.
      overflowed = false;
      skipEntitiesUntil = now() + ttlMs;
    }
    logger.info("pending cache invalidations written");
  }

  function drainSoon(): void {
    if (draining !== undefined || (pendingEntities.size === 0 && pendingGenerations.size === 0 && !overflowed)) return;
    // While the breaker is open the first call fails at once; the one after halfOpenAfter is its trial call.
    draining = drain()
      .catch(() => {})
      .finally(() => {
        draining = undefined;
      });
  }
  const timer = setInterval(drainSoon, options.drainIntervalMs ?? 1000);
  timer.unref();

  return {
    keys,
    get pending() {
      return pendingEntities.size + pendingGenerations.size;
    },

    async entity(call, cache, id, load) {
      const key = keys.entity(cache, id);
      drainSoon();
      if (entityStale(key)) {
        metrics.cacheMisses.inc({ cache });
        return { payload: (await load(call)).payload, cached: false };
      }
      // Every read counts once, as a hit or a miss, also when it shared another read's lookup.
      const result = await flights.run(key, call.signal, async (signal) => {
        const caller: CacheCaller = { signal, procedure: call.procedure };
        const raw = await client.get(caller, key).catch(() => null);
        const entry = raw === null ? undefined : decodeCacheEntry(raw);
        if (entry !== undefined && entry.kind !== "tombstone") {
          return { payload: entry.kind === "value" ? entry.payload : undefined, cached: true };
        }
        const loaded = await load({ ...call, signal });
        if (!entityStale(key)) {
          const entry = encodeCacheEntry(
            loaded.payload === undefined
              ? { kind: "missing", version: loaded.version }
              : { kind: "value", version: loaded.version, payload: loaded.payload },
          );
          await client
            .fillEntry(caller, key, entry, loaded.version, loaded.payload === undefined ? negativeTtlMs : ttlMs)
            .catch(() => false);
        }
        return { payload: loaded.payload, cached: false };
      });
      (result.cached ? metrics.cacheHits : metrics.cacheMisses).inc({ cache });
      return result;
    },

    async page(call, collection, query, load) {
      const generationKey = keys.generation(collection);
      drainSoon();
      const caller: CacheCaller = { signal: call.signal, procedure: call.procedure };
      const generation = pendingGenerations.has(generationKey)
        ? undefined
        : await client.get(caller, generationKey).then(
            (value) => value?.toString("latin1") ?? "0",
            () => undefined,
          );
      if (generation === undefined) {
        metrics.cacheMisses.inc({ cache: `${collection}_page` });
        return { payload: await load(call), cached: false };
      }
      const key = keys.page(collection, generation, query);
      const result = await flights.run(key, call.signal, async (signal) => {
        const flightCaller: CacheCaller = { signal, procedure: call.procedure };
        const cached = await client.get(flightCaller, key).catch(() => null);
        if (cached !== null) return { payload: cached, cached: true };
        const payload = await load({ ...call, signal });
        if (!pendingGenerations.has(generationKey)) await client.set(flightCaller, key, Buffer.from(payload), ttlMs).catch(() => {});
        return { payload, cached: false };
      });
      (result.cached ? metrics.cacheHits : metrics.cacheMisses).inc({ cache: `${collection}_page` });
      return result;
    },

    async invalidate(call, collection, cache, id, version) {
      // Not the call's signal: the write has committed, so its invalidation must happen even if the client left.
      const caller: CacheCaller = { signal: never, procedure: call.procedure };
      const key = keys.entity(cache, id);
      const generationKey = keys.generation(collection);
      try {
        await client.invalidateEntry(caller, key, generationKey, encodeCacheEntry({ kind: "tombstone", version }), version, ttlMs);
      } catch {
        remember(key, generationKey, version);
      }
    },

    async bump(call, collection) {
      const generationKey = keys.generation(collection);
      try {
        await client.bumpGeneration({ signal: never, procedure: call.procedure }, generationKey);
      } catch {
        remember(undefined, generationKey, 0n);
      }
    },

    close() {
      clearInterval(timer);
    },
  };
}
