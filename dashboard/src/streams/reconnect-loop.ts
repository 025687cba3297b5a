import { Code, ConnectError } from "@connectrpc/connect";

export type StreamStatus =
  | { kind: "connecting" }
  | { kind: "live" }
  | { kind: "retrying"; error: ConnectError; retryAt: number }
  /** The caller must act (sign in, get a role, fix the request): no retry until the inputs change. */
  | { kind: "failed"; error: ConnectError };

/** Codes that retrying will not fix. */
const terminal = new Set<Code>([Code.Unauthenticated, Code.PermissionDenied, Code.InvalidArgument, Code.Unimplemented]);

export interface ReconnectOptions<T> {
  /** Opens the server stream; called again after each end or failure. */
  open: (signal: AbortSignal) => AsyncIterable<T>;
  onMessage: (message: T) => void;
  onStatus: (status: StreamStatus) => void;
  signal: AbortSignal;
  /** @default 500 */
  initialDelayMs?: number;
  /** @default 10000 */
  maxDelayMs?: number;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** Delay before reconnect attempt `n` (0-based): exponential with full jitter, at least 100 ms. */
export function reconnectDelay(n: number, initialMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** n);
  return Math.max(100, Math.round(ceiling * random()));
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/**
 * Keeps a server stream open until `signal` aborts: reconnects with backoff after an end or a transient
 * failure, and stops on errors only the caller can fix. Never throws. Messages keep flowing to `onMessage`
 * across reconnects, so a view keeps its last data while the stream is down.
 */
export async function runReconnecting<T>(options: ReconnectOptions<T>): Promise<void> {
  const { signal } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  let failures = 0;
  while (!signal.aborted) {
    options.onStatus({ kind: "connecting" });
    try {
      let live = false;
      for await (const message of options.open(signal)) {
        if (!live) {
          live = true;
          failures = 0;
          options.onStatus({ kind: "live" });
        }
        options.onMessage(message);
      }
      if (signal.aborted) return;
      // A clean end (a server drain): reconnect soon.
      failures = Math.min(failures + 1, 10);
      const delay = reconnectDelay(0, options.initialDelayMs ?? 500, options.maxDelayMs ?? 10_000, random);
      options.onStatus({ kind: "retrying", error: new ConnectError("stream ended", Code.Unavailable), retryAt: now() + delay });
      await sleep(delay, signal);
    } catch (err) {
      if (signal.aborted) return;
      const error = ConnectError.from(err);
      if (terminal.has(error.code)) {
        options.onStatus({ kind: "failed", error });
        return;
      }
      const delay = reconnectDelay(failures, options.initialDelayMs ?? 500, options.maxDelayMs ?? 10_000, random);
      failures = Math.min(failures + 1, 10);
      options.onStatus({ kind: "retrying", error, retryAt: now() + delay });
      await sleep(delay, signal);
    }
  }
}
