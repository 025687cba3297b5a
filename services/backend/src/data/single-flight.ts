import { raceSignal } from "../../../../lib/async/race-signal.ts";

export interface SingleFlight {
  /**
   * Runs `work` once per key at a time: callers that arrive while it runs share its result. Each caller waits
   * at most until its own signal aborts; `work`'s signal aborts only when every caller has gone.
   */
  run<T>(key: string, signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** Keys being worked on now. */
  readonly size: number;
}

interface Flight {
  readonly promise: Promise<unknown>;
  readonly controller: AbortController;
  waiters: number;
}

/** Coalesces concurrent identical work, such as loads of one key after a cache miss. */
export function createSingleFlight(): SingleFlight {
  // A dictionary-mode object, not a Map: every key comes and goes within a request, and V8 gives a long-lived
  // Map a new hash table, allocated in old space, each time deletions shrink it (about 130 KB/s of old-space
  // garbage at 1,000 cache hits a second, the largest cause of full collections). A null-prototype object's
  // small dictionary is reused or replaced in the young generation.
  const flights: Record<string, Flight | undefined> = Object.create(null);
  let size = 0;

  function forget(key: string, flight: Flight): void {
    if (flights[key] !== flight) return;
    delete flights[key];
    size--;
  }

  function join<T>(key: string, flight: Flight, signal: AbortSignal): Promise<T> {
    flight.waiters++;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      flight.waiters--;
      if (flight.waiters === 0) {
        // Nobody wants the result any more: stop the work, and let the next caller start afresh.
        forget(key, flight);
        flight.controller.abort(signal.reason);
      }
    };
    return raceSignal(flight.promise as Promise<T>, signal, leave).finally(() => {
      left = true;
    });
  }

  return {
    run(key, signal, work) {
      const existing = flights[key];
      if (existing !== undefined) return join(key, existing, signal);
      const controller = new AbortController();
      const promise = Promise.resolve()
        .then(() => work(controller.signal))
        .finally(() => forget(key, flight));
      const flight: Flight = { promise, controller, waiters: 0 };
      flights[key] = flight;
      size++;
      return join(key, flight, signal);
    },
    get size() {
      return size;
    },
  };
}
