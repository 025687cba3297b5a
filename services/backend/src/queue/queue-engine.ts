import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { defaultRetryPolicy, type RetryPolicy } from "./backoff.ts";
import { loadLuaScripts, runScript, type LuaScript } from "./lua-scripts.ts";
import { decodeMessage, encodeBody, type PriorityLevel, type StoredMessage } from "./message-codec.ts";
import { defaultKeyPrefix, notifyChannel, queueKeys, queuesRegistryKey } from "./queue-keys.ts";
import { parseLeaseToken, newNoncePrefix } from "./lease-token.ts";
import { queueFiguresFromReply, type QueueFigures } from "./queue-figures.ts";
import { pause } from "../../../../lib/async/pause.ts";

export type { StoredMessage, PriorityLevel } from "./message-codec.ts";

/** A message to add; validated by the caller (the RPC layer) beforehand. */
export interface EnqueueInput {
  /** Unset: a new UUID. */
  readonly id?: string;
  readonly type: string;
  /** JSON text of the payload, "" for none. */
  readonly payloadJson: string;
  readonly priority: PriorityLevel;
  readonly delayMs: number;
  readonly maxAttempts: number;
  readonly traceContext: Readonly<Record<string, string>>;
}

export interface EnqueueResult {
  /** In input order. */
  readonly ids: readonly string[];
  /** The enqueue time given to the messages added. */
  readonly enqueueMs: number;
  /** False where a message with the same id was already present (nothing was added for it). */
  readonly added: readonly boolean[];
}

export interface LeasedQueueMessage {
  readonly message: StoredMessage;
  readonly token: string;
  readonly leaseExpireMs: number;
}

export interface LeaseOptions {
  /** 1 to 1,000. */
  readonly max: number;
  /** Default: the engine's default visibility timeout. */
  readonly visibilityMs?: number;
  /** Long-poll: how long to wait for a message when none is ready. @default 0 */
  readonly waitMs?: number;
  /** Ends the wait early; the call then returns what it has (nothing). */
  readonly signal?: AbortSignal;
  /** Set by Consume streams, so that acks through any backend find the stream (see lease-token.ts). */
  readonly streamId?: string;
}

export interface NackOptions {
  /** Kept as the last error; "" keeps the previous one. */
  readonly error?: string;
  /** Instead of exponential backoff. */
  readonly retryDelayMs?: number;
  /** Dead-letter at once. */
  readonly deadLetter?: boolean;
}

export interface DeadLetterEntry {
  readonly message: StoredMessage;
  readonly deadLetterMs: number;
}

export interface DeadLetterCursor {
  readonly deadLetterMs: string;
  readonly id: string;
}

export interface DeadLetterPage {
  readonly items: readonly DeadLetterEntry[];
  readonly next?: DeadLetterCursor;
  readonly total: number;
}

/** Wakes long-polling leases when messages become ready (queue-notifier.ts), or just sleeps. */
export interface QueueWaiter {
  /** `woken` resolves at the next sign that `queue` may have work; cancel() when no longer waiting. */
  arm(queue: string): { readonly woken: Promise<void>; cancel(): void };
}

/** Hooks for metrics. */
export interface QueueObserver {
  enqueued?(queue: string, count: number): void;
  leased?(queue: string, messages: readonly LeasedQueueMessage[], nowMs: number, callSeconds: number): void;
  acked?(queue: string, count: number): void;
  retried?(queue: string, count: number): void;
  deadLettered?(queue: string, count: number): void;
}

export interface QueueEngineOptions {
  /** Prefix of every key and channel. @default "mesh:queue:" */
  keyPrefix?: string;
  /** Lease duration when a call gives none. @default 30000 */
  defaultVisibilityMs?: number;
  /** The aging step of the priority rule (aging.ts). @default 30000 */
  agingMs?: number;
  /** @default 1 s doubling to 5 min, half of it jitter */
  retry?: RetryPolicy;
  /** How long an explicit id stays taken after its ack (0: only while queued, leased or dead). @default 3600000 */
  dedupeWindowMs?: number;
  /** Most expired leases and due delayed messages one script call handles. @default 1000 */
  maintenanceLimit?: number;
  /** Long-polls check again at least this often, in case a wake-up was missed. @default 1000 */
  pollIntervalMs?: number;
  waiter?: QueueWaiter;
  observer?: QueueObserver;
  /** The clock of every script: tests fake it. @default Date.now */
  now?: () => number;
  /** Seeds the jitter of each call: tests fix it. @default Math.random */
  random?: () => number;
}

export interface QueueEngine {
  readonly keyPrefix: string;
  readonly defaultVisibilityMs: number;
  enqueue(queue: string, messages: readonly EnqueueInput[]): Promise<EnqueueResult>;
  /** A stored message (queued, leased or dead), or undefined. */
  get(queue: string, id: string): Promise<StoredMessage | undefined>;
  lease(queue: string, options: LeaseOptions): Promise<LeasedQueueMessage[]>;
  /** Throws FAILED_PRECONDITION naming the first stale token; then nothing was acked. Returns the count acked now. */
  ack(queue: string, tokens: readonly string[]): Promise<number>;
  nack(queue: string, tokens: readonly string[], options?: NackOptions): Promise<{ retried: number; deadLettered: number }>;
  /** Returns the new expiry; FAILED_PRECONDITION when a token holds no lease. */
  extend(queue: string, tokens: readonly string[], visibilityMs: number): Promise<number>;
  /** Gives leases back without using an attempt; returns how many were still held. */
  release(queue: string, tokens: readonly string[]): Promise<number>;
  /** Whether each token still holds its lease. */
  leaseStatus(queue: string, tokens: readonly string[]): Promise<boolean[]>;
  /** Expired leases back to the queue, due delayed messages to ready. */
  reap(queue: string): Promise<{ retried: number; deadLettered: number; promoted: number }>;
  stats(queue: string): Promise<QueueFigures>;
  /** Every queue that ever received a message, sorted. */
  listQueues(): Promise<string[]>;
  listDeadLetters(queue: string, pageSize: number, after?: DeadLetterCursor): Promise<DeadLetterPage>;
  /** The given dead letters, or all of them; returns how many moved. */
  redrive(queue: string, ids?: readonly string[]): Promise<number>;
  /** Deletes what is not leased; returns how many. */
  purge(queue: string, scope: { ready: boolean; dead: boolean }): Promise<number>;
}

const scriptsDir = fileURLToPath(new URL("./lua", import.meta.url));

function tokenPairs(tokens: readonly string[]): string[] {
  const args: string[] = [];
  for (const token of tokens) {
    const parsed = parseLeaseToken(token);
    // A malformed token (the RPC layer rejects those first) cannot hold a lease: an empty nonce never matches.
    args.push(parsed?.id ?? token, parsed?.nonce ?? "");
  }
  return args;
}

function staleLease(tokens: readonly string[], index: number, what: string): ConnectError {
  return new ConnectError(
    `lease_tokens[${index}]: the lease has ended (it expired, was nacked, or the message was leased again); ${what}`,
    Code.FailedPrecondition,
  );
}

/** The queue on Valkey: every state change is one Lua script of ./lua, run atomically. */
export function createQueueEngine(redis: Redis, options: QueueEngineOptions = {}): QueueEngine {
  const prefix = options.keyPrefix ?? defaultKeyPrefix;
  const defaultVisibilityMs = options.defaultVisibilityMs ?? 30_000;
  const agingMs = options.agingMs ?? 30_000;
  const retry = options.retry ?? defaultRetryPolicy;
  const dedupeWindowMs = options.dedupeWindowMs ?? 3_600_000;
  const limit = options.maintenanceLimit ?? 1000;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const observer = options.observer ?? {};
  const channel = notifyChannel(prefix);
  const scripts = loadLuaScripts(scriptsDir);
  const keyCache = new Map<string, string[]>();

  function keysOf(queue: string): string[] {
    let keys = keyCache.get(queue);
    if (keys === undefined) {
      keys = queueKeys(prefix, queue);
      if (keyCache.size > 10_000) keyCache.clear();
      keyCache.set(queue, keys);
    }
    return keys;
  }

  function script(name: string): LuaScript {
    const found = scripts.get(name);
    if (found === undefined) throw new Error(`missing Lua script ${name}`);
    return found;
  }

  const run = (name: string, queue: string, args: ReadonlyArray<string | number>) => runScript(redis, script(name), keysOf(queue), args);
  const backoffArgs = () => [random(), retry.baseMs, retry.capMs, retry.jitter];

  async function leaseOnce(queue: string, max: number, visibilityMs: number, streamId: string | undefined) {
    const started = performance.now();
    const at = now();
    const nonce = newNoncePrefix(streamId);
    const reply = (await run("lease", queue, [at, max, visibilityMs, nonce, agingMs, ...backoffArgs(), limit])) as Array<string | number>;
    const [count, nextDue, retried, dead] = reply as [number, number, number, number];
    if (retried > 0) observer.retried?.(queue, retried);
    if (dead > 0) observer.deadLettered?.(queue, dead);
    const messages: LeasedQueueMessage[] = [];
    for (let i = 0; i < count; i++) {
      const base = 4 + i * 4;
      const id = String(reply[base]);
      const state = String(reply[base + 2]);
      const message = decodeMessage(queue, id, String(reply[base + 1]), state, String(reply[base + 3]));
      const lease = state.split("|")[5] ?? "";
      messages.push({ message, token: `${lease}.${id}`, leaseExpireMs: at + visibilityMs });
    }
    if (messages.length > 0) observer.leased?.(queue, messages, at, (performance.now() - started) / 1000);
    return { messages, nextDue };
  }

  async function stats(queue: string): Promise<QueueFigures> {
    const reply = (await run("stats", queue, [])) as Array<string | number>;
    return queueFiguresFromReply(reply, now());
  }

  return {
    keyPrefix: prefix,
    defaultVisibilityMs,

    async enqueue(queue, messages) {
      const at = now();
      const ids: string[] = [];
      const args: Array<string | number> = [at, queue, channel, dedupeWindowMs];
      for (const m of messages) {
        const id = m.id ?? randomUUID();
        ids.push(id);
        args.push(id, encodeBody(at, m.type, m.traceContext, m.payloadJson), m.priority, m.maxAttempts, Math.max(0, Math.floor(m.delayMs)), m.id === undefined ? 0 : 1);
      }
      const reply = (await run("enqueue", queue, args)) as number[];
      const added = reply.map((flag) => flag === 1);
      const count = added.filter(Boolean).length;
      if (count > 0) observer.enqueued?.(queue, count);
      return { ids, added, enqueueMs: at };
    },

    async get(queue, id) {
      const [data, state, errors] = keysOf(queue) as [string, string, string];
      const [body, raw, lastError] = await Promise.all([redis.hget(data, id), redis.hget(state, id), redis.hget(errors, id)]);
      if (body === null || raw === null) return undefined;
      return decodeMessage(queue, id, body, raw, lastError ?? "");
    },

    async lease(queue, leaseOptions) {
      const visibilityMs = leaseOptions.visibilityMs ?? defaultVisibilityMs;
      const waitMs = leaseOptions.waitMs ?? 0;
      const signal = leaseOptions.signal;
      const deadline = performance.now() + waitMs;
      for (;;) {
        // Armed before the attempt, so that a wake-up between the attempt and the wait is not lost.
        const wake = waitMs > 0 ? options.waiter?.arm(queue) : undefined;
        try {
          const { messages, nextDue } = await leaseOnce(queue, leaseOptions.max, visibilityMs, leaseOptions.streamId);
          const remaining = deadline - performance.now();
          if (messages.length > 0 || remaining <= 0 || signal?.aborted) return messages;
          let waitFor = Math.min(remaining, pollIntervalMs);
          if (nextDue >= 0) waitFor = Math.min(waitFor, Math.max(1, nextDue - now()));
          await Promise.race([pause(waitFor, signal), ...(wake === undefined ? [] : [wake.woken])]);
          if (signal?.aborted) return [];
        } finally {
          wake?.cancel();
        }
      }
    },

    async ack(queue, tokens) {
      if (tokens.length === 0) return 0;
      const reply = (await run("ack", queue, [now(), dedupeWindowMs, ...tokenPairs(tokens)])) as number[];
      if (reply[0] === -1) throw staleLease(tokens, (reply[1] ?? 1) - 1, "nothing in this batch was acknowledged");
      const acked = reply[0] ?? 0;
      if (acked > 0) observer.acked?.(queue, acked);
      return acked;
    },

    async nack(queue, tokens, nackOptions = {}) {
      if (tokens.length === 0) return { retried: 0, deadLettered: 0 };
      const reply = (await run("nack", queue, [
        now(),
        nackOptions.error ?? "",
        nackOptions.retryDelayMs === undefined ? -1 : Math.max(0, Math.floor(nackOptions.retryDelayMs)),
        nackOptions.deadLetter === true ? 1 : 0,
        ...backoffArgs(),
        queue,
        channel,
        ...tokenPairs(tokens),
      ])) as number[];
      if (reply[0] === -1) throw staleLease(tokens, (reply[1] ?? 1) - 1, "nothing in this batch was nacked");
      const retried = reply[0] ?? 0;
      const deadLettered = reply[1] ?? 0;
      if (retried > 0) observer.retried?.(queue, retried);
      if (deadLettered > 0) observer.deadLettered?.(queue, deadLettered);
      return { retried, deadLettered };
    },

    async extend(queue, tokens, visibilityMs) {
      const expiry = now() + visibilityMs;
      const reply = (await run("extend", queue, [expiry, ...tokenPairs(tokens)])) as number[];
      if (reply[0] === -1) throw staleLease(tokens, (reply[1] ?? 1) - 1, "no lease of this batch was extended");
      return expiry;
    },

    async release(queue, tokens) {
      if (tokens.length === 0) return 0;
      return (await run("release", queue, [queue, channel, ...tokenPairs(tokens)])) as number;
    },

    async leaseStatus(queue, tokens) {
      if (tokens.length === 0) return [];
      const reply = (await run("lease-status", queue, tokenPairs(tokens))) as number[];
      return reply.map((held) => held === 1);
    },

    async reap(queue) {
      const reply = (await run("reap", queue, [now(), ...backoffArgs(), limit, queue, channel])) as number[];
      const [retried = 0, deadLettered = 0, promoted = 0] = reply;
      if (retried > 0) observer.retried?.(queue, retried);
      if (deadLettered > 0) observer.deadLettered?.(queue, deadLettered);
      return { retried, deadLettered, promoted };
    },

    stats,

    async listQueues() {
      return (await redis.smembers(queuesRegistryKey(prefix))).sort();
    },

    async listDeadLetters(queue, pageSize, after) {
      const reply = (await run("list-dead", queue, [after?.deadLetterMs ?? "", after?.id ?? "", pageSize])) as Array<string | number>;
      const total = Number(reply[0]);
      const items: DeadLetterEntry[] = [];
      const cursors: DeadLetterCursor[] = [];
      for (let i = 1; i + 4 < reply.length; i += 5) {
        const id = String(reply[i]);
        const body = String(reply[i + 1]);
        const state = String(reply[i + 2]);
        if (body === "" || state === "") continue;
        items.push({ message: decodeMessage(queue, id, body, state, String(reply[i + 3])), deadLetterMs: Number(reply[i + 4]) });
        cursors.push({ deadLetterMs: String(reply[i + 4]), id });
      }
      if (items.length <= pageSize) return { items, total };
      return { items: items.slice(0, pageSize), next: cursors[pageSize - 1], total };
    },

    async redrive(queue, ids) {
      if (ids !== undefined && ids.length > 0) return (await run("redrive", queue, [now(), limit, queue, channel, ...ids])) as number;
      // All of them, a chunk per script call; bounded by the count at the start so that it ends.
      const { dead } = await stats(queue);
      let moved = 0;
      while (moved < dead) {
        const chunk = (await run("redrive", queue, [now(), Math.min(limit, dead - moved), queue, channel])) as number;
        if (chunk === 0) break;
        moved += chunk;
      }
      return moved;
    },

    async purge(queue, scope) {
      let purged = 0;
      for (;;) {
        const chunk = (await run("purge", queue, [scope.ready ? 1 : 0, scope.dead ? 1 : 0, limit])) as number;
        purged += chunk;
        if (chunk < limit) return purged;
      }
    },
  };
}
