/** A queue's live figures, as GetQueueStats reports them. */
export interface QueueFigures {
  readonly readyHigh: number;
  readonly readyMedium: number;
  readonly readyLow: number;
  readonly delayed: number;
  readonly inFlight: number;
  readonly dead: number;
  /** Enqueue time of the oldest head of the ready lists; undefined when nothing is ready. */
  readonly oldestReadyMs?: number;
  /** Per second over the last minute. */
  readonly enqueueRate: number;
  readonly ackRate: number;
  readonly retryRate: number;
  readonly deadLetterRate: number;
  /** Since the queue was created. */
  readonly totals: { readonly enqueued: number; readonly acked: number; readonly retried: number; readonly deadLettered: number };
}

/** Must match includes/rates.lua. */
const bucketMs = 10_000;
const slots = 7;

/**
 * Rates per second over the last minute from the ring of 10-second buckets in the counters hash: the six full
 * buckets before the current one and the current one so far (`fields`: field name to value).
 */
export function ratesFromCounters(fields: ReadonlyMap<string, string>, nowMs: number): { enqueue: number; ack: number; retry: number; deadLetter: number } {
  const current = Math.floor(nowMs / bucketMs);
  const windowSeconds = ((slots - 1) * bucketMs + (nowMs % bucketMs)) / 1000;
  const sums = { e: 0, a: 0, r: 0, x: 0 };
  for (let slot = 0; slot < slots; slot++) {
    const bucket = Number(fields.get(`b${slot}`));
    if (!Number.isFinite(bucket) || bucket > current || bucket <= current - slots) continue;
    for (const kind of ["e", "a", "r", "x"] as const) sums[kind] += Number(fields.get(`${kind}${slot}`) ?? 0);
  }
  return {
    enqueue: sums.e / windowSeconds,
    ack: sums.a / windowSeconds,
    retry: sums.r / windowSeconds,
    deadLetter: sums.x / windowSeconds,
  };
}

/** Decodes the reply of stats-12.lua. */
export function queueFiguresFromReply(reply: ReadonlyArray<string | number>, nowMs: number): QueueFigures {
  const n = (i: number) => Number(reply[i] ?? 0);
  const fields = new Map<string, string>();
  for (let i = 7; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), String(reply[i + 1]));
  const rates = ratesFromCounters(fields, nowMs);
  const total = (field: string) => Number(fields.get(field) ?? 0);
  return {
    readyHigh: n(0),
    readyMedium: n(1),
    readyLow: n(2),
    delayed: n(3),
    inFlight: n(4),
    dead: n(5),
    ...(n(6) >= 0 ? { oldestReadyMs: n(6) } : {}),
    enqueueRate: rates.enqueue,
    ackRate: rates.ack,
    retryRate: rates.retry,
    deadLetterRate: rates.deadLetter,
    totals: { enqueued: total("E"), acked: total("A"), retried: total("R"), deadLettered: total("X") },
  };
}
