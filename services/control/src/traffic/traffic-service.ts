import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { TrafficService, type TrafficPoint } from "../../../../gen/mesh/control/v1/traffic_pb.ts";
import { invalidArgument } from "../../../../lib/errors/connect-errors.ts";
import { pointForService, type TrafficHistory } from "./traffic-history.ts";

const servicePattern = /^[A-Za-z0-9._-]{1,100}$/;

/** mesh.control.v1.TrafficService over the in-memory traffic history. */
export function createTrafficService(deps: {
  history: TrafficHistory;
  now?: () => number;
  /** Aborts when control shuts down: watch streams end then. */
  stop?: AbortSignal;
  /** Points a watch may hold unread before it is ended (the client reconnects and gets the history). @default 1000 */
  maxBacklog?: number;
}): ServiceImpl<typeof TrafficService> {
  const now = deps.now ?? Date.now;
  const maxBacklog = deps.maxBacklog ?? 1000;
  return {
    async *watchTraffic(req, ctx) {
      if (req.service !== "" && !servicePattern.test(req.service)) throw invalidArgument("service", "must be a service name such as backend");
      const signal = deps.stop ? AbortSignal.any([ctx.signal, deps.stop]) : ctx.signal;
      const pending: TrafficPoint[] = [];
      let overflow = false;
      let wake: (() => void) | undefined;
      // Subscribed before the history is read (synchronously, below): each point is in one or the other.
      const unsubscribe = deps.history.subscribe((point) => {
        if (pending.length >= maxBacklog) overflow = true;
        else pending.push(point);
        wake?.();
      });
      const onAbort = () => wake?.();
      signal.addEventListener("abort", onAbort);
      try {
        yield { points: deps.history.points(now()).map((p) => pointForService(p, req.service)) };
        while (!signal.aborted) {
          if (overflow) throw new ConnectError("the watcher fell too far behind; watch again for the history", Code.ResourceExhausted);
          const point = pending.shift();
          if (point === undefined) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          yield { points: [pointForService(point, req.service)] };
        }
      } finally {
        unsubscribe();
        signal.removeEventListener("abort", onAbort);
      }
    },
  };
}
