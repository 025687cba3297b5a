import { LoadTestState, type WatchLoadTestResponse } from "../../../gen/mesh/control/v1/load_test_pb.ts";

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

/**
 * A WatchLoadTest stream for `useStream` that stays open, silent, once the test has ended: WatchLoadTest
 * ends after the final message, and a reconnecting hook would otherwise re-open it again and again. A stream
 * that ends before the test does (control restarting) ends here too, so the hook reconnects.
 */
export async function* watchUntilDone(
  open: (signal: AbortSignal) => AsyncIterable<WatchLoadTestResponse>,
  signal: AbortSignal,
): AsyncGenerator<WatchLoadTestResponse> {
  for await (const message of open(signal)) {
    yield message;
    const state = message.loadTest?.state;
    if (state !== undefined && state !== LoadTestState.RUNNING && state !== LoadTestState.UNSPECIFIED) {
      await untilAborted(signal);
      return;
    }
  }
}
