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
  const flights = new Map<string, Flight>();

  function join<T>(key: string, flight: Flight, signal: AbortSignal): Promise<T> {
    flight.waiters++;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      flight.waiters--;
      if (flight.waiters === 0) {
        // Nobody wants the result any more: stop the work, and let the next caller start afresh.
        if (flights.get(key) === flight) flights.delete(key);
        flight.controller.abort(signal.reason);
      }
    };
    return raceSignal(flight.promise as Promise<T>, signal, leave).finally(() => {
      left = true;
    });
  }

  return {
    run(key, signal, work) {
      const existing = flights.get(key);
      if (existing !== undefined) return join(key, existing, signal);
      const controller = new AbortController();
      const promise = Promise.resolve()
        .then(() => work(controller.signal))
        .finally(() => {
          if (flights.get(key) === flight) flights.delete(key);
        });
      const flight: Flight = { promise, controller, waiters: 0 };
      flights.set(key, flight);
      return join(key, flight, signal);
    },
    get size() {
      return flights.size;
    },
  };
}
