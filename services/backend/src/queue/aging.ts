/** The head of one priority's ready list: its priority (1 high, 2 medium, 3 low) and when it became ready. */
export interface ReadyHead {
  readonly priority: 1 | 2 | 3;
  readonly readySinceMs: number;
}

/**
 * The aging rule that lease-12.lua applies, for documentation and tests. Each head's effective time is the
 * time it became ready plus (priority - 1) * agingMs; the earliest goes first and ties go to the higher
 * priority. High is served first unless a medium head has been ready `agingMs` longer than the high head
 * (a low head 2 * agingMs longer, or `agingMs` longer than the medium head), so low priority never starves:
 * it waits at most for the higher messages that became ready up to 2 * agingMs after it.
 * Returns the priority to lease from, or undefined when every list is empty.
 */
export function pickPriority(heads: ReadonlyArray<ReadyHead | undefined>, agingMs: number): 1 | 2 | 3 | undefined {
  let best: ReadyHead | undefined;
  for (const head of heads) {
    if (head === undefined) continue;
    const at = effectiveTime(head, agingMs);
    if (best === undefined || at < effectiveTime(best, agingMs) || (at === effectiveTime(best, agingMs) && head.priority < best.priority)) {
      best = head;
    }
  }
  return best?.priority;
}

export function effectiveTime(head: ReadyHead, agingMs: number): number {
  return head.readySinceMs + (head.priority - 1) * agingMs;
}
