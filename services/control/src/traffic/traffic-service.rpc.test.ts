import { create } from "@bufbuild/protobuf";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BreakerService, InstanceBreakerSchema } from "../../../../gen/mesh/control/v1/breaker_pb.ts";
import { InstanceSchema } from "../../../../gen/mesh/control/v1/registry_pb.ts";
import { RouteTrafficSchema, TrafficService, type WatchTrafficResponse } from "../../../../gen/mesh/control/v1/traffic_pb.ts";
import { createBreakerBoard } from "../breakers/breaker-board.ts";
import { createBreakerService } from "../breakers/breaker-service.ts";
import { createRegistryState } from "../registry/registry-state.ts";
import { createTrafficHistory, pointTimeMs } from "./traffic-history.ts";
import { createTrafficService } from "./traffic-service.ts";

function setup(options: { stop?: AbortSignal; maxBacklog?: number } = {}) {
  let clock = 1_000_000;
  const registry = createRegistryState();
  registry.register(create(InstanceSchema, { id: "backend-1", service: "backend", address: "http://127.0.0.1:1" }), 3_600_000, clock);
  const history = createTrafficHistory();
  const transport = createRouterTransport(({ service }) => {
    service(BreakerService, createBreakerService({ board: createBreakerBoard(registry), registry, events: { append: async () => undefined as never }, now: () => clock, traffic: history }));
    service(TrafficService, createTrafficService({ history, now: () => clock, stop: options.stop, maxBacklog: options.maxBacklog }));
  });
  const breakers = createClient(BreakerService, transport);
  return {
    traffic: createClient(TrafficService, transport),
    advance: (ms: number) => (clock += ms),
    report: (rps: number) =>
      breakers.reportBreakers({
        gatewayId: "gateway-1",
        breakers: [create(InstanceBreakerSchema, { instanceId: "backend-1", service: "backend", metrics: { requestsPerSecond: rps } })],
        routes: [
          create(RouteTrafficSchema, { route: "GET /v1/items/{id}", service: "backend", metrics: { requestsPerSecond: rps } }),
          create(RouteTrafficSchema, { route: "/mesh.control.v1.TrafficService/WatchTraffic", service: "control", metrics: { requestsPerSecond: 0.1 } }),
        ],
      }),
  };
}

const rates = (m: IteratorResult<WatchTrafficResponse>) => (m.value as WatchTrafficResponse).points.map((p) => p.routes.map((r) => r.metrics?.requestsPerSecond));

describe("TrafficService.WatchTraffic", () => {
  it("sends the history first, then one point per gateway report, filtered by service", async () => {
    const { traffic, report, advance } = setup();
    await report(5);
    advance(2000);
    await report(7);
    const abort = new AbortController();
    const it = traffic.watchTraffic({ service: "backend" }, { signal: abort.signal })[Symbol.asyncIterator]();
    const first = await it.next();
    expect(rates(first)).toEqual([[5], [7]]);
    expect((first.value as WatchTrafficResponse).points.map(pointTimeMs)).toEqual([1_000_000, 1_002_000]);
    advance(2000);
    await report(9);
    await report(11);
    expect(rates(await it.next())).toEqual([[9]]);
    expect(rates(await it.next())).toEqual([[11]]);
    abort.abort();
  });

  it("sends an empty history before any gateway reported", async () => {
    const { traffic } = setup();
    const abort = new AbortController();
    const it = traffic.watchTraffic({}, { signal: abort.signal })[Symbol.asyncIterator]();
    expect(((await it.next()).value as WatchTrafficResponse).points).toEqual([]);
    abort.abort();
  });

  it("ends a watcher that fell too far behind with RESOURCE_EXHAUSTED", async () => {
    const { traffic, report } = setup({ maxBacklog: 2 });
    const it = traffic.watchTraffic({})[Symbol.asyncIterator]();
    await it.next();
    for (let i = 0; i < 4; i++) await report(i);
    await expect((async () => {
      for (;;) if ((await it.next()).done) return;
    })()).rejects.toMatchObject({ code: Code.ResourceExhausted });
  });

  it("ends cleanly when control stops", async () => {
    const stop = new AbortController();
    const { traffic, report } = setup({ stop: stop.signal });
    await report(1);
    const received: number[] = [];
    for await (const message of traffic.watchTraffic({})) {
      received.push(message.points.length);
      stop.abort();
    }
    expect(received).toEqual([1]);
  });

  it("refuses a malformed service filter", async () => {
    const { traffic } = setup();
    await expect(traffic.watchTraffic({ service: "not a service" })[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: Code.InvalidArgument });
  });
});
