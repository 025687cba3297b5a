import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.ts";
import type { HealthCheckResponse } from "../../gen/grpc/health/v1/health_pb.ts";
import type { HealthMonitor, ServingStatus } from "./health-monitor.ts";

/** Services that answer whatever the dependencies do, so their health would say nothing. */
const infrastructure = /^grpc\.(health|reflection)\./;

/**
 * Adds grpc.health.v1.Health to a router, answering from `monitor`.
 *
 * Call it after the app's services are registered: every service then on the router (except the
 * health and reflection services) is made known to the monitor, so Check answers for it instead of
 * NOT_FOUND. Services registered later can be added with `monitor.addService(name)`.
 */
export function registerHealth(router: ConnectRouter, monitor: HealthMonitor): void {
  for (const handler of router.handlers) {
    if (!infrastructure.test(handler.service.typeName)) monitor.addService(handler.service.typeName);
  }
  router.service(Health, createHealthService(monitor));
}

/** The Health implementation, for routers assembled by hand. */
export function createHealthService(monitor: HealthMonitor): ServiceImpl<typeof Health> {
  return {
    check(request) {
      const status = monitor.status(request.service);
      if (status === undefined) {
        throw new ConnectError(
          `service "${request.service}" is unknown to the health service; ask for "" for the whole server`,
          Code.NotFound,
        );
      }
      return response(status);
    },
    async *watch(request, context) {
      for await (const status of monitor.watch(request.service, context.signal)) yield response(status);
    },
    list() {
      const statuses: Record<string, HealthCheckResponse> = {};
      for (const [service, status] of monitor.statuses()) statuses[service] = response(status);
      return { statuses };
    },
  };
}

function response(status: ServingStatus | "SERVICE_UNKNOWN"): HealthCheckResponse {
  return create(HealthCheckResponseSchema, { status: HealthCheckResponse_ServingStatus[status] });
}
