import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { BreakerService, BreakerState, InstanceBreakerSchema, type InstanceBreaker } from "../../../../gen/mesh/control/v1/breaker_pb.ts";
import { GoldenMetricsSchema, type GoldenMetrics } from "../../../../gen/mesh/control/v1/metrics_pb.ts";
import { RetryBudgetTrafficSchema, RouteTrafficSchema, type RetryBudgetTraffic, type RouteTraffic } from "../../../../gen/mesh/control/v1/traffic_pb.ts";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import type { BreakerStateName } from "../upstreams/endpoint.ts";
import type { EndpointFigures } from "../upstreams/endpoint-stats.ts";
import type { UpstreamPool } from "../upstreams/upstream-pool.ts";
import type { RouteTally } from "./route-tally.ts";

const states: Record<BreakerStateName, BreakerState> = {
  closed: BreakerState.CLOSED,
  open: BreakerState.OPEN,
  half_open: BreakerState.HALF_OPEN,
  isolated: BreakerState.ISOLATED,
};

function goldenMetrics(f: EndpointFigures): GoldenMetrics {
  return create(GoldenMetricsSchema, {
    requestsPerSecond: f.requestsPerSecond,
    successRate: f.successRate,
    latencyP50: durationFromMs(Math.round(f.p50Ms)),
    latencyP95: durationFromMs(Math.round(f.p95Ms)),
    latencyP99: durationFromMs(Math.round(f.p99Ms)),
    requestsTotal: BigInt(f.requestsTotal),
    errorsTotal: BigInt(f.errorsTotal),
    retriesTotal: BigInt(f.retriesTotal),
  });
}

/** Every registry instance's breaker and golden figures as this gateway sees them. */
export function breakerReport(pools: readonly UpstreamPool[]): InstanceBreaker[] {
  const out: InstanceBreaker[] = [];
  for (const pool of pools) {
    for (const endpoint of pool.endpoints.values()) {
      const f = endpoint.stats.figures();
      out.push(
        create(InstanceBreakerSchema, {
          instanceId: endpoint.id,
          service: pool.service,
          state: states[endpoint.breakerState],
          stateChangeTime: timestampFromMs(endpoint.breakerChangedAt),
          consecutiveFailures: endpoint.consecutiveFailures,
          metrics: goldenMetrics(f),
        }),
      );
    }
  }
  return out;
}

/**
 * This gateway's traffic per route (with the mesh service that serves each) and the retry budget of every
 * service it balances, for control's TrafficService. Routes whose service has no pool yet are left out.
 */
export function trafficReport(tally: RouteTally, pools: readonly UpstreamPool[]): { routes: RouteTraffic[]; retryBudgets: RetryBudgetTraffic[] } {
  const routes: RouteTraffic[] = [];
  for (const r of tally.routes()) {
    const pool = pools.find((p) => p.serves(r.rpcService));
    if (pool) routes.push(create(RouteTrafficSchema, { route: r.route, service: pool.service, metrics: goldenMetrics(r.figures) }));
  }
  const exhausted = tally.exhausted();
  const retryBudgets = pools.map((p) =>
    create(RetryBudgetTrafficSchema, {
      service: p.service,
      exhaustedTotal: BigInt(exhausted.get(p.service) ?? 0),
      budgetRatio: p.policy.budgetRatio,
      budgetMinPerSecond: p.policy.budgetMinPerSecond,
    }),
  );
  return { routes, retryBudgets };
}

/**
 * Reports breakers (and, given a `traffic` tally, traffic per route and retry budgets) to control's
 * BreakerService every `intervalMs`, for the mesh-wide view. A failed report
 * is logged once until one succeeds again; the next report carries the current state anyway.
 */
export function startBreakerReports(options: {
  transport: Transport;
  gatewayId: string;
  pools: () => UpstreamPool[];
  traffic?: RouteTally;
  intervalMs: number;
  logger: Logger;
}): { stop(): void } {
  const client = createClient(BreakerService, options.transport);
  let failing = false;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    const all = options.pools();
    // Static fallback instances are not in the registry: control would drop them.
    const pools = all.filter((p) => [...p.endpoints.keys()].every((id) => !id.includes("://")));
    const traffic = options.traffic ? trafficReport(options.traffic, all) : {};
    client
      .reportBreakers({ gatewayId: options.gatewayId, breakers: breakerReport(pools), ...traffic }, { timeoutMs: Math.max(500, options.intervalMs) })
      .then(
        () => {
          if (failing) options.logger.info("breaker reports reach the control plane again");
          failing = false;
        },
        (err: unknown) => {
          if (!failing) options.logger.warn({ err: { message: ConnectError.from(err).rawMessage } }, "could not report breakers to the control plane");
          failing = true;
        },
      )
      .finally(() => (running = false));
  }, options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
