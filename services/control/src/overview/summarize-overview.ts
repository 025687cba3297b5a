import { create } from "@bufbuild/protobuf";
import { durationMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { GoldenMetricsSchema } from "../../../../gen/mesh/control/v1/metrics_pb.ts";
import {
  ServiceSummarySchema,
  SystemHealth,
  SystemOverviewSchema,
  type ServiceSummary,
  type SystemOverview,
} from "../../../../gen/mesh/control/v1/overview_pb.ts";
import { ServingState, type Instance } from "../../../../gen/mesh/control/v1/registry_pb.ts";
import { OverallStatus, type GetStatusResponse } from "../../../../gen/mesh/health/v1/status_pb.ts";
import { durationFromMillis } from "../../../../lib/proto/duration-from-millis.ts";

/** The seeds' alert threshold for a high error rate (10 %). */
export const errorRateThreshold = 0.1;

interface Totals {
  rpm: number;
  errorsPerMinute: number;
  weightedMs: number;
  requestsTotal: bigint;
  errorsTotal: bigint;
}

function addTraffic(totals: Totals, status: GetStatusResponse | undefined): void {
  const t = status?.traffic;
  if (!t) return;
  totals.rpm += t.requestsPerMinute;
  totals.errorsPerMinute += t.requestsPerMinute * t.errorRate;
  totals.weightedMs += t.requestsPerMinute * (t.averageResponseTime ? durationMs(t.averageResponseTime) : 0);
  totals.requestsTotal += t.requestsTotal;
}

const emptyTotals = (): Totals => ({ rpm: 0, errorsPerMinute: 0, weightedMs: 0, requestsTotal: 0n, errorsTotal: 0n });

/**
 * The system overview from the registry's view of each instance and the status each instance reported (its
 * own traffic over the last minute). A service is UNHEALTHY with no serving instance, DEGRADED with some
 * instances out, a degraded instance, or an error rate above the alert threshold, and HEALTHY otherwise.
 */
export function summarizeOverview(instances: readonly Instance[], statuses: ReadonlyMap<string, GetStatusResponse>, now: number): SystemOverview {
  const byService = new Map<string, Instance[]>();
  for (const instance of instances) byService.set(instance.service, [...(byService.get(instance.service) ?? []), instance]);
  const all = emptyTotals();
  const services: ServiceSummary[] = [];
  for (const [service, members] of [...byService].sort(([a], [b]) => a.localeCompare(b))) {
    const totals = emptyTotals();
    let healthy = 0;
    let degradedMember = false;
    for (const instance of members) {
      const status = statuses.get(instance.id);
      if (instance.state === ServingState.SERVING) healthy++;
      if (status?.status === OverallStatus.DEGRADED) degradedMember = true;
      addTraffic(totals, status);
      addTraffic(all, status);
    }
    const errorRate = totals.rpm === 0 ? 0 : totals.errorsPerMinute / totals.rpm;
    const health =
      healthy === 0
        ? SystemHealth.UNHEALTHY
        : healthy < members.length || degradedMember || errorRate > errorRateThreshold
          ? SystemHealth.DEGRADED
          : SystemHealth.HEALTHY;
    services.push(
      create(ServiceSummarySchema, {
        service,
        instances: members.length,
        healthyInstances: healthy,
        health,
        metrics: create(GoldenMetricsSchema, {
          requestsPerSecond: totals.rpm / 60,
          successRate: 1 - errorRate,
          requestsTotal: totals.requestsTotal,
        }),
      }),
    );
  }
  const errorRate = all.rpm === 0 ? 0 : all.errorsPerMinute / all.rpm;
  const active = services.filter((s) => s.healthyInstances > 0).length;
  const health =
    services.length === 0 || active === 0
      ? SystemHealth.UNHEALTHY
      : services.every((s) => s.health === SystemHealth.HEALTHY)
        ? SystemHealth.HEALTHY
        : SystemHealth.DEGRADED;
  return create(SystemOverviewSchema, {
    activeServices: active,
    activeInstances: instances.length,
    requestsPerMinute: all.rpm,
    averageResponseTime: durationFromMillis(all.rpm === 0 ? 0 : all.weightedMs / all.rpm),
    errorRate,
    health,
    services,
    time: timestampFromMs(now),
  });
}
