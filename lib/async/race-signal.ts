/**
 * Settles with `work`, or rejects with the signal's reason as soon as it aborts. `onAbandon` runs when the
 * signal wins, so the caller can dispose of what `work` still holds; `work`'s own later failure is ignored.
 */
export function raceSignal<T>(work: Promise<T>, signal: AbortSignal, onAbandon?: () => void): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    onAbandon?.();
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => {});
      onAbandon?.();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
