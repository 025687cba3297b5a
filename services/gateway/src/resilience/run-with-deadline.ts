import { TaskCancelledError } from "cockatiel";

/**
 * Runs `fn` with a signal that aborts when `parent` does or after `ms`, and settles as soon as either happens,
 * whether or not `fn` has noticed yet, with a TaskCancelledError: the semantics of cockatiel's aggressive
 * timeout (`timeout(ms, { strategy: Aggressive, abortOnReturn: false })`), which a call's deadline needs
 * because a retry's backoff delay does not listen to the signal. Settling clears the timer and the listener
 * and does not abort the signal: nothing listens once `fn` has returned.
 *
 * It costs one AbortController, one listener and one timer per call, where cockatiel's TimeoutPolicy adds
 * two more listeners, an event emitter, a Promise.race and an executor wrapper: the gateway runs one per request.
 */
export function runWithDeadline<T>(ms: number, parent: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = () => {
      clearTimeout(timer);
      parent.removeEventListener("abort", onParentAbort);
    };
    const cut = (reason: unknown, message: string) => {
      settle();
      controller.abort(reason);
      reject(new TaskCancelledError(message));
    };
    const onParentAbort = () => cut(parent.reason, "Operation cancelled");
    if (parent.aborted) {
      cut(parent.reason, "Operation cancelled");
    } else {
      parent.addEventListener("abort", onParentAbort, { once: true });
      // Beyond setTimeout's range (about 24.8 days) a timer would fire at once: such a deadline never comes.
      if (ms <= 2 ** 31 - 1) timer = setTimeout(() => cut(undefined, `Operation timed out after ${ms}ms`), ms);
    }
    let running: Promise<T>;
    try {
      running = fn(controller.signal);
    } catch (err) {
      settle();
      reject(err);
      return;
    }
    running.then(
      (value) => {
        settle();
        resolve(value);
      },
      (err: unknown) => {
        settle();
        reject(err);
      },
    );
  });
}
