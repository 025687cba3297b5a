import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.ts";
import { DataService } from "../../gen/mesh/data/v1/data_pb.ts";
import { StatusService } from "../../gen/mesh/health/v1/status_pb.ts";
import { registerReflection } from "../reflection/register-reflection.ts";
import { createHealthMonitor } from "./health-monitor.ts";
import type { HealthMonitor } from "./health-monitor.ts";
import { registerHealth } from "./register-health.ts";

let postgresUp = true;
let monitor: HealthMonitor;
/** How many server-side Watch iterations are still open, and the signals they were given. */
let openWatches = 0;
let watchSignals: AbortSignal[] = [];

function setup() {
  postgresUp = true;
  openWatches = 0;
  watchSignals = [];
  monitor = createHealthMonitor({
    checks: {
      postgres: async () => {
        if (!postgresUp) throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
      },
    },
    interval: 1000,
  });
  const watched: HealthMonitor = {
    ...monitor,
    async *watch(service, signal) {
      openWatches++;
      if (signal !== undefined) watchSignals.push(signal);
      try {
        yield* monitor.watch(service, signal);
      } finally {
        openWatches--;
      }
    },
  };
  const transport = createRouterTransport((router) => {
    router.service(DataService, {});
    router.service(StatusService, {});
    registerReflection(router);
    registerHealth(router, watched);
  });
  return createClient(Health, transport);
}

let client: ReturnType<typeof setup>;

beforeEach(async () => {
  vi.useFakeTimers();
  client = setup();
  await vi.advanceTimersByTimeAsync(0);
});

afterEach(() => {
  monitor.close();
  vi.useRealTimers();
});

async function checkError(service: string): Promise<ConnectError> {
  return client.check({ service }).then(
    () => {
      throw new Error("expected Check to fail");
    },
    (error: unknown) => ConnectError.from(error),
  );
}

describe("grpc.health.v1.Health", () => {
  it("Check follows the dependency: SERVING, NOT_SERVING, SERVING", async () => {
    expect((await client.check({ service: "" })).status).toBe(Status.SERVING);
    postgresUp = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect((await client.check({ service: "" })).status).toBe(Status.NOT_SERVING);
    expect((await client.check({ service: "mesh.data.v1.DataService" })).status).toBe(Status.NOT_SERVING);
    postgresUp = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect((await client.check({ service: "mesh.data.v1.DataService" })).status).toBe(Status.SERVING);
  });

  it.each(["mesh.nope.v1.Nope", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"])(
    "Check of %s, not an app service on the router, is NOT_FOUND",
    async (service) => {
      const error = await checkError(service);
      expect(error.code).toBe(Code.NotFound);
      expect(error.rawMessage).toBe(
        `service "${service}" is unknown to the health service; ask for "" for the whole server`,
      );
    },
  );

  it("List gives every service registered before it", async () => {
    postgresUp = false;
    await monitor.checkNow();
    const { statuses } = await client.list({});
    expect(Object.fromEntries(Object.entries(statuses).map(([name, { status }]) => [name, status]))).toEqual({
      "": Status.NOT_SERVING,
      "mesh.data.v1.DataService": Status.NOT_SERVING,
      "mesh.health.v1.StatusService": Status.NOT_SERVING,
    });
  });

  it("Watch streams the status now, then each change as it happens", async () => {
    const controller = new AbortController();
    const stream = client.watch({ service: "" }, { signal: controller.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(Status.SERVING);
    postgresUp = false;
    const notServing = stream.next();
    await vi.advanceTimersByTimeAsync(1000);
    expect((await notServing).value?.status).toBe(Status.NOT_SERVING);
    postgresUp = true;
    const serving = stream.next();
    await vi.advanceTimersByTimeAsync(1000);
    expect((await serving).value?.status).toBe(Status.SERVING);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    // The router stops pulling a cancelled stream; the monitor's part ends on the aborted signal.
    expect(watchSignals.map((signal) => signal.aborted)).toEqual([true]);
  });

  it("Watch of an unknown service says SERVICE_UNKNOWN and stays open until the service is known", async () => {
    const controller = new AbortController();
    const stream = client
      .watch({ service: "mesh.queue.v1.QueueService" }, { signal: controller.signal })
      [Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(Status.SERVICE_UNKNOWN);
    const next = stream.next();
    monitor.addService("mesh.queue.v1.QueueService");
    expect((await next).value?.status).toBe(Status.SERVING);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    // The router stops pulling a cancelled stream; the monitor's part ends on the aborted signal.
    expect(watchSignals.map((signal) => signal.aborted)).toEqual([true]);
  });

  it("Watch gets NOT_SERVING at once when the server starts draining", async () => {
    const controller = new AbortController();
    const stream = client.watch({ service: "" }, { signal: controller.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(Status.SERVING);
    const next = stream.next();
    monitor.setDraining();
    expect((await next).value?.status).toBe(Status.NOT_SERVING);
    controller.abort();
  });

  it("Watch ends cleanly when the monitor closes", async () => {
    const stream = client.watch({ service: "" })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(Status.SERVING);
    const next = stream.next();
    monitor.close();
    expect(await next).toEqual({ done: true, value: undefined });
    expect(openWatches).toBe(0);
  });
});
