import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { RegistryService } from "../../../../gen/mesh/control/v1/registry_pb.ts";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import { applyWatchEvent, emptyView, type RegistryChange, type RegistryView } from "./registry-view.ts";
import { pause } from "../../../../lib/async/pause.ts";

export interface WatchRegistryOptions {
  /** gRPC to the control plane (with the gateway's service credential). */
  transport: Transport;
  logger: Logger;
  /** Called with every change, in order; the first after each (re)connect without history is a snapshot. */
  onChange(change: RegistryChange, view: RegistryView): void;
  /** Reconnect delays grow from this, doubling, up to `maxBackoffMs`, with full jitter. @default 250 */
  initialBackoffMs?: number;
  /** @default 10000 */
  maxBackoffMs?: number;
  /** @default Math.random */
  random?: () => number;
}

export interface RegistryWatch {
  /** The view as last heard; kept when control goes away. */
  readonly view: RegistryView;
  /** True once a snapshot has arrived (this run of the gateway). */
  readonly synced: boolean;
  stop(): Promise<void>;
}

/**
 * Follows RegistryService.WatchInstances: a snapshot, then changes in order. When the stream breaks it
 * reconnects with exponential backoff and full jitter, resuming after the last revision it saw (control
 * answers with the missed changes, or a new snapshot when its history no longer reaches back). Meanwhile the
 * last view stays in force: a control plane that is down stops no traffic.
 */
export function watchRegistry(options: WatchRegistryOptions): RegistryWatch {
  const { logger } = options;
  const client = createClient(RegistryService, options.transport);
  const initial = options.initialBackoffMs ?? 250;
  const max = options.maxBackoffMs ?? 10_000;
  const random = options.random ?? Math.random;
  const stopped = new AbortController();
  let view = emptyView;
  let synced = false;

  async function follow(): Promise<void> {
    let failures = 0;
    let connected = true;
    while (!stopped.signal.aborted) {
      try {
        for await (const event of client.watchInstances({ afterRevision: view.revision }, { signal: stopped.signal })) {
          const { view: next, change } = applyWatchEvent(view, event);
          view = next;
          if (change?.kind === "snapshot") {
            if (!synced || !connected) logger.info({ instances: next.instances.size, revision: String(next.revision) }, "registry snapshot received");
            synced = true;
          }
          if (!connected) logger.info("control plane reachable again; following the registry");
          connected = true;
          failures = 0;
          if (change) options.onChange(change, view);
        }
        // Control ends streams when it shuts down: reconnect soon, backing off if it stays gone.
        failures++;
      } catch (err) {
        if (stopped.signal.aborted) return;
        const error = ConnectError.from(err);
        if (connected) {
          logger.warn(
            { err: { message: error.rawMessage, code: Code[error.code] } },
            synced ? "registry watch lost; routing on the last known instances" : "control plane unreachable; routing on UPSTREAMS",
          );
        }
        connected = false;
        failures++;
      }
      if (failures > 0) {
        const ceiling = Math.min(initial * 2 ** (failures - 1), max);
        await pause(Math.floor(random() * ceiling), stopped.signal);
      }
    }
  }

  const running = follow();
  return {
    get view() {
      return view;
    },
    get synced() {
      return synced;
    },
    async stop() {
      stopped.abort();
      await running;
    },
  };
}
