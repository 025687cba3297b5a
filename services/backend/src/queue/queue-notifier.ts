import type { Redis } from "ioredis";
import type { QueueWaiter } from "./queue-engine.ts";
import { notifyChannel, releasedChannel } from "./queue-keys.ts";

export interface QueueNotifier extends QueueWaiter {
  /** Called with the lease tokens that another backend reports acked or nacked (Consume flow control). */
  onReleased(listener: (tokens: readonly string[]) => void): void;
  /** Unsubscribes and closes the subscriber connection. */
  close(): Promise<void>;
}

/**
 * Long-poll wake-ups over pub/sub: scripts publish a queue's name on the notify channel when messages become
 * ready, and each backend's one subscriber connection wakes the leases waiting on that queue. A missed message
 * (a reconnect) only delays a waiter until its next poll (QueueEngineOptions.pollIntervalMs).
 * `subscriber` is a connection of its own: it is in subscriber mode from now on.
 */
export function createQueueNotifier(subscriber: Redis, keyPrefix: string, onError?: (err: Error) => void): QueueNotifier {
  const notify = notifyChannel(keyPrefix);
  const released = releasedChannel(keyPrefix);
  const waiters = new Map<string, Set<() => void>>();
  const releasedListeners: Array<(tokens: readonly string[]) => void> = [];

  subscriber.on("message", (channel: string, message: string) => {
    if (channel === notify) {
      const set = waiters.get(message);
      if (set === undefined) return;
      waiters.delete(message);
      for (const wake of set) wake();
    } else if (channel === released) {
      const tokens = message.split("\n");
      for (const listener of releasedListeners) listener(tokens);
    }
  });
  subscriber.subscribe(notify, released).catch((err: Error) => onError?.(err));

  return {
    arm(queue) {
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      let set = waiters.get(queue);
      if (set === undefined) {
        set = new Set();
        waiters.set(queue, set);
      }
      set.add(wake);
      return {
        woken,
        cancel() {
          const current = waiters.get(queue);
          current?.delete(wake);
          if (current?.size === 0) waiters.delete(queue);
        },
      };
    },
    onReleased(listener) {
      releasedListeners.push(listener);
    },
    async close() {
      for (const set of waiters.values()) for (const wake of set) wake();
      waiters.clear();
      subscriber.disconnect();
    },
  };
}
