import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport, type Client } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FaultService } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { ChaosService } from "../../../../gen/mesh/control/v1/chaos_pb.ts";
import { InstanceSchema } from "../../../../gen/mesh/control/v1/registry_pb.ts";
import { createLogger } from "../../../../lib/logging/create-logger.ts";
import { createFaultRegistry, type FaultRegistry } from "../../../backend/src/faults/fault-registry.ts";
import { createFaultService } from "../../../backend/src/faults/fault-service.ts";
import { createRegistryState } from "../registry/registry-state.ts";
import { createChaosController } from "./chaos-controller.ts";
import { createChaosService } from "./chaos-service.ts";

const logger = createLogger({ service: "control", instance: "test", level: "silent" });

/** Two backends with real fault registries behind in-memory transports, and control's chaos service. */
function setup() {
  const registry = createRegistryState();
  const backends = new Map<string, { faults: FaultRegistry; client: Client<typeof FaultService> }>();
  const boot = (id: string, port: number) => {
    const address = `http://127.0.0.1:${port}`;
    const faults = createFaultRegistry();
    const client = createClient(FaultService, createRouterTransport(({ service }) => service(FaultService, createFaultService(faults))));
    backends.set(address, { faults, client });
    registry.register(create(InstanceSchema, { id, service: "backend", address }), 15_000, Date.now());
    return faults;
  };
  boot("backend-1", 4001);
  boot("backend-2", 4002);
  const appended: string[] = [];
  const chaos = createChaosController({
    registry,
    faults: (address) => backends.get(address)!.client,
    events: { append: async (e) => (appended.push(e.message), undefined as never) },
    logger,
    reconcileMs: 3_600_000,
  });
  const client = createClient(ChaosService, createRouterTransport(({ service }) => service(ChaosService, createChaosService(chaos))));
  const faultsOf = (port: number) => backends.get(`http://127.0.0.1:${port}`)!.faults.list();
  return { client, chaos, faultsOf, boot, appended };
}

afterEach(() => vi.useRealTimers());

describe("ChaosService", () => {
  it("injects on every instance of a service and clears everywhere", async () => {
    const { client, faultsOf, appended } = setup();
    const { fault } = await client.simulateServiceFailure({ target: { target: { case: "service", value: "backend" } }, duration: durationFromMs(60_000) });
    expect(fault?.instanceIds).toEqual(["backend-1", "backend-2"]);
    expect(faultsOf(4001).map((f) => f.spec.case)).toEqual(["errorRate"]);
    expect(faultsOf(4002).map((f) => f.spec.case)).toEqual(["errorRate"]);
    expect((await client.listFaults({})).faults.map((f) => f.id)).toEqual([fault!.id]);
    await client.clearFault({ id: fault!.id });
    expect(faultsOf(4001)).toEqual([]);
    expect(faultsOf(4002)).toEqual([]);
    expect((await client.listFaults({})).faults).toEqual([]);
    expect(appended).toEqual([
      `fault ${fault!.id} (errorRate) injected on service backend by anonymous`,
      `fault ${fault!.id} on service backend cleared`,
    ]);
  });

  it("injects on one instance only", async () => {
    const { client, faultsOf } = setup();
    await client.simulateNetworkLatency({
      target: { target: { case: "instanceId", value: "backend-1" } },
      duration: durationFromMs(30_000),
      latency: durationFromMs(200),
    });
    expect(faultsOf(4001).map((f) => f.spec.case)).toEqual(["latency"]);
    expect(faultsOf(4002)).toEqual([]);
  });

  it("forgets a fault at its expiry, as the backends do", async () => {
    vi.useFakeTimers();
    const { client, faultsOf, appended } = setup();
    await client.simulateMemoryLeak({
      target: { target: { case: "service", value: "backend" } },
      duration: durationFromMs(5000),
      megabytesPerSecond: 1,
      maxMegabytes: 2,
    });
    await vi.advanceTimersByTimeAsync(4999);
    expect((await client.listFaults({})).faults).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect((await client.listFaults({})).faults).toEqual([]);
    expect(faultsOf(4001)).toEqual([]);
    expect(appended.at(-1)).toMatch(/expired$/);
  });

  it("re-applies a fault to an instance that restarted and lost it, but never a crash", async () => {
    const { client, chaos, faultsOf, boot } = setup();
    await client.simulateNetworkLatency({ target: { target: { case: "service", value: "backend" } }, duration: durationFromMs(60_000), latency: durationFromMs(100) });
    await client.injectFault({
      target: { target: { case: "instanceId", value: "backend-2" } },
      fault: { duration: durationFromMs(60_000), spec: { case: "crash", value: { delay: durationFromMs(3_000_000) } } },
    });
    boot("backend-2", 4002);
    expect(faultsOf(4002)).toEqual([]);
    await chaos.reconcile();
    expect(faultsOf(4002).map((f) => f.spec.case)).toEqual(["latency"]);
    chaos.stop();
  });

  it.each([
    [{ duration: durationFromMs(1000) }, "target"],
    [{ target: { target: { case: "service" as const, value: "no such" } }, duration: durationFromMs(1000) }, "target.service"],
    [{ target: { target: { case: "service" as const, value: "backend" } } }, "fault.duration"],
    [{ target: { target: { case: "service" as const, value: "backend" } }, duration: durationFromMs(100_000_000) }, "fault.duration"],
  ])("rejects bad input (%#) naming %s", async (request, field) => {
    const { client } = setup();
    const err = await client.simulateServiceFailure(request).catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain(`${field}:`);
  });

  it("answers NOT_FOUND for an unknown instance or service, and for an unknown fault id", async () => {
    const { client } = setup();
    await expect(
      client.simulateServiceFailure({ target: { target: { case: "instanceId", value: "backend-9" } }, duration: durationFromMs(1000) }),
    ).rejects.toMatchObject({ code: Code.NotFound });
    await expect(client.simulateServiceFailure({ target: { target: { case: "service", value: "nothing" } }, duration: durationFromMs(1000) })).rejects.toMatchObject({
      code: Code.NotFound,
    });
    await expect(client.clearFault({ id: "nope" })).rejects.toMatchObject({ code: Code.NotFound });
  });

  it("rejects a memory leak above the safety bound and an intensity out of range", async () => {
    const { client } = setup();
    const target = { target: { case: "service" as const, value: "backend" } };
    await expect(client.simulateMemoryLeak({ target, duration: durationFromMs(1000), megabytesPerSecond: 500, maxMegabytes: 10 })).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
    await expect(client.simulateDatabaseOverload({ target, duration: durationFromMs(1000), intensity: 1.5 })).rejects.toMatchObject({ code: Code.InvalidArgument });
  });
});
