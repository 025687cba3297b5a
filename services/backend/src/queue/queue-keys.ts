/** Queue names: 1 to 100 characters of [A-Za-z0-9._-] (the contract's rule). */
export const queueNamePattern = /^[A-Za-z0-9._-]{1,100}$/;

/** Default prefix of every key and channel of the queue. */
export const defaultKeyPrefix = "mesh:queue:";

/**
 * The twelve keys of one queue, in the order of includes/keys.lua. Queue names never contain ':' or '@', so
 * these cannot collide with another queue's keys or with the shared ones below.
 */
export function queueKeys(prefix: string, queue: string): string[] {
  const base = `${prefix}${queue}:`;
  return [
    `${base}data`,
    `${base}state`,
    `${base}errors`,
    `${base}ready:high`,
    `${base}ready:medium`,
    `${base}ready:low`,
    `${base}delayed`,
    `${base}leased`,
    `${base}dead`,
    `${base}counters`,
    `${base}dedupe`,
    queuesRegistryKey(prefix),
  ];
}

/** Set of every queue that ever received a message: ListQueues and the reaper read it, never SCAN. */
export function queuesRegistryKey(prefix: string): string {
  return `${prefix}@queues`;
}

/** Pub/sub channel on which scripts publish a queue's name when messages became ready in it. */
export function notifyChannel(prefix: string): string {
  return `${prefix}@notify`;
}

/** Pub/sub channel carrying lease tokens of Consume streams acked or nacked through another backend. */
export function releasedChannel(prefix: string): string {
  return `${prefix}@released`;
}
