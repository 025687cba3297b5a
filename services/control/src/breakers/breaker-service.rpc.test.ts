import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BreakerService, BreakerState, InstanceBreakerSchema, type WatchBreakersResponse } from "../../../../gen/mesh/control/v1/breaker_pb.ts";
import { InstanceSchema, RegistryService, type WatchInstancesResponse } from "../../../../gen/mesh/control/v1/registry_pb.ts";
import { createRegistryService } from "../registry/registry-service.ts";
import { createRegistryState } from "../registry/registry-state.ts";
import { createBreakerBoard } from "./breaker-board.ts";
import { createBreakerService } from "./breaker-service.ts";

function setup(options: { stop?: AbortSignal } = {}) {
  let clock = 1_000_000;
  const registry = createRegistryState();
  for (const [id, service] of [["backend-1", "backend"], ["backend-2", "backend"], ["other-1", "other"]] as const) {
    registry.register(create(InstanceSchema, { id, service, address: "http://127.0.0.1:1" }), 3_600_000, clock);
  }
  const events: string[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(
      BreakerService,
      createBreakerService({
        board: createBreakerBoard(registry, { staleAfterMs: 30_000 }),
        registry,
        events: { append: async (e) => (events.push(e.message), undefined as never) },
        now: () => clock,
        stop: options.stop,
        refreshMs: 10,
      }),
    );
    service(RegistryService, createRegistryService({ state: registry, now: () => clock }));
  });
  return {
    breakers: createClient(BreakerService, transport),
    registryClient: createClient(RegistryService, transport),
    registry,
    events,
    advance: (ms: number) => (clock += ms),
    now: () => clock,
  };
}

const report = (instanceId: string, state: BreakerState) => create(InstanceBreakerSchema, { instanceId, state, consecutiveFailures: state === BreakerState.OPEN ? 5 : 0 });

describe("BreakerService", () => {
  it("merges the gateways' reports into one view, by service, dropping stale gateways", async () => {
    const { breakers, advance } = setup();
    await breakers.reportBreakers({ gatewayId: "gateway-1", breakers: [report("backend-1", BreakerState.OPEN), report("other-1", BreakerState.CLOSED)] });
    advance(20_000);
    await breakers.reportBreakers({ gatewayId: "gateway-2", breakers: [report("backend-1", BreakerState.CLOSED), report("gone-9", BreakerState.OPEN)] });
    const view = (await breakers.listBreakers({ service: "backend" })).breakers.map((b) => `${b.gatewayId}:${b.instanceId}:${b.state}`);
    expect(view).toEqual([`gateway-1:backend-1:${BreakerState.OPEN}`, `gateway-2:backend-1:${BreakerState.CLOSED}`]);
    advance(15_000);
    const later = (await breakers.listBreakers({})).breakers.map((b) => b.gatewayId);
    expect(later).toEqual(["gateway-2"]);
  });

  it("isolates an instance for a duration: gateways see it through the watch stream, and it ends by itself", async () => {
    const { breakers, registryClient, registry, advance, now, events } = setup();
    const abort = new AbortController();
    const it = registryClient.watchInstances({ service: "backend" }, { signal: abort.signal })[Symbol.asyncIterator]();
    await it.next();
    const { expireTime } = await breakers.isolateInstance({ instanceId: "backend-2", duration: durationFromMs(10_000) });
    expect(expireTime).toBeDefined();
    const change = (await it.next()).value as WatchInstancesResponse;
    expect(change.event.case === "instanceUpserted" && change.event.value.id === "backend-2" && change.event.value.isolatedUntil !== undefined).toBe(true);
    expect((await breakers.listBreakers({})).breakers.map((b) => [b.instanceId, b.state])).toEqual([["backend-2", BreakerState.ISOLATED]]);
    advance(10_000);
    registry.expire(now());
    const ended = (await it.next()).value as WatchInstancesResponse;
    expect(ended.event.case === "instanceUpserted" && ended.event.value.isolatedUntil === undefined).toBe(true);
    expect((await breakers.listBreakers({})).breakers).toEqual([]);
    expect(events).toEqual(["backend-2 isolated by anonymous"]);
    abort.abort();
  });

  it("a reset ends an isolation and tells gateways to close the breakers", async () => {
    const { breakers, registryClient, events } = setup();
    await breakers.isolateInstance({ instanceId: "backend-1" }, { headers: { "x-actor": "ops" } });
    const abort = new AbortController();
    const it = registryClient.watchInstances({ service: "backend" }, { signal: abort.signal })[Symbol.asyncIterator]();
    await it.next();
    await breakers.resetBreaker({ instanceId: "backend-1" });
    const changes = [(await it.next()).value, (await it.next()).value] as WatchInstancesResponse[];
    expect(changes.map((c) => c.event.case)).toEqual(["instanceUpserted", "breakerReset"]);
    expect(events).toEqual(["backend-1 isolated by ops until reset", "backend-1 breakers reset by anonymous"]);
    abort.abort();
  });

  it("answers NOT_FOUND for unknown instances and INVALID_ARGUMENT for bad input", async () => {
    const { breakers } = setup();
    await expect(breakers.isolateInstance({ instanceId: "backend-9" })).rejects.toMatchObject({ code: Code.NotFound });
    await expect(breakers.resetBreaker({ instanceId: "no spaces" })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(breakers.isolateInstance({ instanceId: "backend-1", duration: durationFromMs(10) })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(breakers.reportBreakers({ gatewayId: "" })).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  describe("WatchBreakers", () => {
    const view = (m: IteratorResult<WatchBreakersResponse>) =>
      (m.value as WatchBreakersResponse).breakers.map((b) => `${b.gatewayId}:${b.instanceId}:${b.state}:${b.metrics?.requestsPerSecond ?? 0}`);
    const withRps = (instanceId: string, state: BreakerState, rps: number) =>
      create(InstanceBreakerSchema, { instanceId, state, metrics: { requestsPerSecond: rps } });

    it("sends the whole view first, then the whole view again after each report, with the gateway's metrics", async () => {
      const { breakers } = setup();
      await breakers.reportBreakers({ gatewayId: "gateway-1", breakers: [withRps("backend-1", BreakerState.CLOSED, 12)] });
      const abort = new AbortController();
      const it = breakers.watchBreakers({ service: "backend" }, { signal: abort.signal })[Symbol.asyncIterator]();
      const first = await it.next();
      expect(view(first)).toEqual([`gateway-1:backend-1:${BreakerState.CLOSED}:12`]);
      expect((first.value as WatchBreakersResponse).observeTime).toBeDefined();
      await breakers.reportBreakers({ gatewayId: "gateway-2", breakers: [withRps("backend-2", BreakerState.OPEN, 3), withRps("other-1", BreakerState.CLOSED, 1)] });
      expect(view(await it.next())).toEqual([`gateway-1:backend-1:${BreakerState.CLOSED}:12`, `gateway-2:backend-2:${BreakerState.OPEN}:3`]);
      abort.abort();
    });

    it("sends a change of the registry (an isolation), and drops a gateway that went stale, without a new report", async () => {
      const { breakers, advance } = setup();
      await breakers.reportBreakers({ gatewayId: "gateway-1", breakers: [withRps("backend-1", BreakerState.CLOSED, 5)] });
      const abort = new AbortController();
      const it = breakers.watchBreakers({}, { signal: abort.signal })[Symbol.asyncIterator]();
      await it.next();
      await breakers.isolateInstance({ instanceId: "backend-1" });
      expect(view(await it.next())).toEqual([`gateway-1:backend-1:${BreakerState.ISOLATED}:5`]);
      advance(31_000);
      // Only the operator's isolation is left once gateway-1's report is older than staleAfterMs.
      expect(view(await it.next())).toEqual([`:backend-1:${BreakerState.ISOLATED}:0`]);
      abort.abort();
    });

    it("merges changes made while the reader is away into one message of the latest view", async () => {
      const { breakers } = setup();
      const abort = new AbortController();
      const it = breakers.watchBreakers({}, { signal: abort.signal })[Symbol.asyncIterator]();
      expect(view(await it.next())).toEqual([]);
      for (const rps of [1, 2, 3]) await breakers.reportBreakers({ gatewayId: "gateway-1", breakers: [withRps("backend-1", BreakerState.CLOSED, rps)] });
      expect(view(await it.next())).toEqual([`gateway-1:backend-1:${BreakerState.CLOSED}:3`]);
      abort.abort();
    });

    it("ends cleanly when control stops", async () => {
      const stop = new AbortController();
      const { breakers } = setup({ stop: stop.signal });
      const seen: WatchBreakersResponse[] = [];
      const done = (async () => {
        for await (const message of breakers.watchBreakers({})) {
          seen.push(message);
          stop.abort();
        }
      })();
      await expect(done).resolves.toBeUndefined();
      expect(seen).toHaveLength(1);
    });

    it("refuses a malformed service filter", async () => {
      const { breakers } = setup();
      const it = breakers.watchBreakers({ service: "no spaces" })[Symbol.asyncIterator]();
      await expect(it.next()).rejects.toMatchObject({ code: Code.InvalidArgument });
    });
  });
});
