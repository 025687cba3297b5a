import { streamIdOfToken } from "./lease-token.ts";

/** The unacknowledged messages of one Consume stream. */
export interface StreamSlots {
  readonly size: number;
  add(token: string, leaseExpireMs: number): void;
  /** Tokens still counted, for a check against the server. */
  tokens(): string[];
  /** Frees the slots of these tokens; wakes the stream. */
  free(tokens: readonly string[]): void;
  /** Frees the slots of leases that expired by `nowMs` (the message may now be with another consumer). */
  dropExpired(nowMs: number): void;
  /** Resolves true when a slot frees, false after `ms` or on abort. */
  waitForSlot(ms: number, signal: AbortSignal): Promise<boolean>;
  close(): void;
}

export interface ConsumeStreams {
  open(streamId: string): StreamSlots;
  /**
   * Tokens acked or nacked by this backend: frees the slots of local streams and returns the tokens of
   * streams on other backends (to publish to them).
   */
  released(tokens: readonly string[]): string[];
  /** Tokens that another backend acked or nacked. */
  releasedElsewhere(tokens: readonly string[]): void;
  readonly openCount: number;
}

/** Flow control of this backend's Consume streams: each holds at most max_in_flight unacknowledged messages. */
export function createConsumeStreams(): ConsumeStreams {
  const streams = new Map<string, StreamSlots>();

  function freeLocal(tokens: readonly string[], remote: string[] | undefined): void {
    let byStream: Map<string, string[]> | undefined;
    for (const token of tokens) {
      const id = streamIdOfToken(token);
      if (id === undefined) continue;
      if (!streams.has(id)) {
        remote?.push(token);
        continue;
      }
      byStream ??= new Map();
      const list = byStream.get(id);
      if (list === undefined) byStream.set(id, [token]);
      else list.push(token);
    }
    if (byStream !== undefined) for (const [id, list] of byStream) streams.get(id)?.free(list);
  }

  return {
    get openCount() {
      return streams.size;
    },
    open(streamId) {
      const inFlight = new Map<string, number>();
      /** No lease of the stream expires before this (a lower bound), so most checks scan nothing. */
      let nextExpiry = Number.POSITIVE_INFINITY;
      let wake: (() => void) | undefined;
      const slots: StreamSlots = {
        get size() {
          return inFlight.size;
        },
        add(token, leaseExpireMs) {
          inFlight.set(token, leaseExpireMs);
          if (leaseExpireMs < nextExpiry) nextExpiry = leaseExpireMs;
        },
        tokens: () => [...inFlight.keys()],
        free(tokens) {
          let freed = false;
          for (const token of tokens) freed = inFlight.delete(token) || freed;
          if (freed) wake?.();
        },
        dropExpired(nowMs) {
          if (nowMs < nextExpiry) return;
          nextExpiry = Number.POSITIVE_INFINITY;
          for (const [token, expiry] of inFlight) {
            if (expiry <= nowMs) inFlight.delete(token);
            else if (expiry < nextExpiry) nextExpiry = expiry;
          }
        },
        waitForSlot(ms, signal) {
          return new Promise((resolve) => {
            if (signal.aborted) return resolve(false);
            const done = (freed: boolean) => {
              clearTimeout(timer);
              signal.removeEventListener("abort", aborted);
              wake = undefined;
              resolve(freed);
            };
            const aborted = () => done(false);
            const timer = setTimeout(() => done(false), ms);
            signal.addEventListener("abort", aborted, { once: true });
            wake = () => done(true);
          });
        },
        close() {
          streams.delete(streamId);
          wake?.();
        },
      };
      streams.set(streamId, slots);
      return slots;
    },
    released(tokens) {
      const remote: string[] = [];
      freeLocal(tokens, remote);
      return remote;
    },
    releasedElsewhere(tokens) {
      freeLocal(tokens, undefined);
    },
  };
}
