import { useEffect, useRef, useState } from "preact/hooks";
import { runReconnecting, type StreamStatus } from "./reconnect-loop.ts";

/**
 * Subscribes a component to a server stream for as long as it is mounted (or until `deps` change), with
 * reconnects. `onMessage` sees every message (for views that accumulate history); the returned `latest` is
 * the last one. The page never blocks on a reconnect: the last data stays on screen with the status.
 */
export function useStream<T>(
  open: (signal: AbortSignal) => AsyncIterable<T>,
  deps: readonly unknown[],
  onMessage?: (message: T) => void,
): { latest: T | undefined; status: StreamStatus } {
  const [latest, setLatest] = useState<T | undefined>(undefined);
  const [status, setStatus] = useState<StreamStatus>({ kind: "connecting" });
  const handler = useRef(onMessage);
  handler.current = onMessage;
  useEffect(() => {
    const controller = new AbortController();
    void runReconnecting({
      open,
      signal: controller.signal,
      onMessage(message) {
        handler.current?.(message);
        setLatest(() => message);
      },
      onStatus: setStatus,
    });
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return { latest, status };
}
