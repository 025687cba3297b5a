import type { Code } from "@connectrpc/connect";
import { createEndpointStats, type EndpointFigures, type EndpointStats } from "../upstreams/endpoint-stats.ts";
import { isInstanceFailure } from "./attempt-outcome.ts";

/** One route's recent calls. */
export interface RouteFigures {
  /** The REST route template or the RPC's path, as in the metrics' `route` label. */
  route: string;
  /** The RPC service's fully-qualified name, such as "mesh.data.v1.DataService". */
  rpcService: string;
  figures: EndpointFigures;
}

/**
 * The gateway's calls per route as callers see them (before retries) and its retry budget exhaustion per
 * service, kept for the traffic reports to control. Fed by GatewayMetrics, so the call path is unchanged.
 */
export interface RouteTally {
  request(route: string, method: string, code: Code | undefined, seconds: number): void;
  retry(route: string, method: string): void;
  budgetExhausted(service: string): void;
  routes(): RouteFigures[];
  /** Retries not made for lack of budget since start, per mesh service. */
  exhausted(): ReadonlyMap<string, number>;
}

/**
 * One window of recent calls per route (the per-instance ring of endpoint-stats: O(1) to record).
 * Routes come from the route table and the protos, so they are few; past `maxRoutes` new ones are not kept.
 */
export function createRouteTally(options: { maxRoutes?: number; now?: () => number } = {}): RouteTally {
  const maxRoutes = options.maxRoutes ?? 500;
  const routes = new Map<string, { rpcService: string; stats: EndpointStats }>();
  const exhausted = new Map<string, number>();
  const entry = (route: string, method: string) => {
    let e = routes.get(route);
    if (!e && routes.size < maxRoutes) {
      // `method` is "<rpc service>/<method>".
      const slash = method.lastIndexOf("/");
      e = { rpcService: slash > 0 ? method.slice(0, slash) : method, stats: createEndpointStats({ capacity: 1024, now: options.now }) };
      routes.set(route, e);
    }
    return e;
  };
  return {
    request(route, method, code, seconds) {
      entry(route, method)?.stats.record(seconds * 1000, isInstanceFailure(code));
    },
    retry(route, method) {
      entry(route, method)?.stats.recordRetry();
    },
    budgetExhausted(service) {
      exhausted.set(service, (exhausted.get(service) ?? 0) + 1);
    },
    routes() {
      return [...routes].map(([route, e]) => ({ route, rpcService: e.rpcService, figures: e.stats.figures() }));
    },
    exhausted: () => exhausted,
  };
}
