/**
 * Wraps a refresh so calls that arrive while one runs fold into a single run after it: a burst of events
 * costs at most two requests, and the last answer always reflects the newest event.
 */
export function createCoalescedRefresh(refresh: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  async function loop(): Promise<void> {
    try {
      do {
        again = false;
        await refresh().catch(() => undefined);
      } while (again);
    } finally {
      running = undefined;
    }
  }
  return function request() {
    if (running) {
      again = true;
      return running;
    }
    running = loop();
    return running;
  };
}
