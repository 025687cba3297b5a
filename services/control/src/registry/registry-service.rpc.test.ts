import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  InstanceSchema,
  RegistryService,
  ServingState,
  ServingStateSchema,
  type Instance,
  type WatchInstancesResponse,
} from "../../../../gen/mesh/control/v1/registry_pb.ts";
import { createRegistryService } from "./registry-service.ts";
import { createRegistryState } from "./registry-state.ts";

function setup(historySize = 1000) {
  let clock = 1_000_000;
  const state = createRegistryState({ historySize });
  const stop = new AbortController();
  const transport = createRouterTransport(({ service }) => {
    service(RegistryService, createRegistryService({ state, now: () => clock, stop: stop.signal }));
  });
  return {
    state,
    client: createClient(RegistryService, transport),
    advance: (ms: number) => (clock += ms),
    now: () => clock,
    stop,
  };
}

function instance(id: string, service = "backend", port = 4001): Instance {
  return create(InstanceSchema, {
    id,
    service,
    address: `http://127.0.0.1:${port}`,
    version: "1.0.0",
    rpcServices: ["mesh.data.v1.DataService"],
  });
}

async function take(stream: AsyncIterable<WatchInstancesResponse>, n: number): Promise<WatchInstancesResponse[]> {
  const out: WatchInstancesResponse[] = [];
  for await (const change of stream) {
    out.push(change);
    if (out.length === n) break;
  }
  return out;
}

function describeChange(c: WatchInstancesResponse): string {
  const e = c.event;
  if (e.case === "snapshot") return `${c.revision}:snapshot[${e.value.instances.map((i) => i.id).join(",")}]`;
  if (e.case === "instanceUpserted") return `${c.revision}:up ${e.value.id} ${ServingStateSchema.value[e.value.state]?.localName}`;
  if (e.case === "instanceRemoved") return `${c.revision}:down ${e.value}`;
  return `${c.revision}:${e.case}`;
}

describe("RegistryService", () => {
  it("registers, heartbeats, lists and deregisters", async () => {
    const { client, advance, state, now } = setup();
    const reg = await client.register({ instance: instance("backend-1"), leaseTtl: durationFromMs(3000) });
    expect(reg.leaseId).not.toBe("");
    expect(reg.heartbeatInterval).toEqual(durationFromMs(1000));
    advance(2500);
    await client.heartbeat({ instanceId: "backend-1", leaseId: reg.leaseId });
    advance(2500);
    expect(state.expire(now())).toEqual([]);
    const listed = await client.listInstances({});
    expect(listed.instances.map((i) => i.id)).toEqual(["backend-1"]);
    await client.deregister({ instanceId: "backend-1", leaseId: reg.leaseId });
    await client.deregister({ instanceId: "backend-1", leaseId: reg.leaseId });
    expect((await client.listInstances({})).instances).toEqual([]);
  });

  it("expires a lease that is not renewed, and then heartbeats fail with NOT_FOUND", async () => {
    const { client, advance, state, now } = setup();
    const reg = await client.register({ instance: instance("backend-1"), leaseTtl: durationFromMs(3000) });
    advance(3000);
    expect(state.expire(now())).toEqual(["backend-1"]);
    const err = await client.heartbeat({ instanceId: "backend-1", leaseId: reg.leaseId }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
  });

  it("rejects a deregistration with the lease of an earlier registration", async () => {
    const { client } = setup();
    const first = await client.register({ instance: instance("backend-1") });
    await client.register({ instance: instance("backend-1") });
    await expect(client.deregister({ instanceId: "backend-1", leaseId: first.leaseId })).rejects.toMatchObject({ code: Code.FailedPrecondition });
  });

  it.each([
    [{ instance: instance("bad id!") }, "instance.id"],
    [{ instance: { ...instance("b1"), service: "" } }, "instance.service"],
    [{ instance: { ...instance("b1"), address: "ftp://x" } }, "instance.address"],
    [{ instance: { ...instance("b1"), address: "http://x:1/path" } }, "instance.address"],
    [{ instance: { ...instance("b1"), rpcServices: ["NoPackage"] } }, "instance.rpc_services[0]"],
    [{ instance: instance("b1"), leaseTtl: durationFromMs(10) }, "lease_ttl"],
    [{}, "instance"],
  ])("rejects invalid registrations (%#) naming %s", async (request, field) => {
    const { client } = setup();
    const err = await client.register(request).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain(`${field}:`);
  });

  it("watch sends a snapshot, then ordered changes", async () => {
    const { client, state } = setup();
    await client.register({ instance: instance("backend-1") });
    const abort = new AbortController();
    const stream = client.watchInstances({}, { signal: abort.signal });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(describeChange(first.value)).toBe("1:snapshot[backend-1]");
    const reg2 = await client.register({ instance: instance("backend-2", "backend", 4002) });
    state.setServingState("backend-2", ServingState.SERVING);
    await client.deregister({ instanceId: "backend-2", leaseId: reg2.leaseId });
    const next = [await iterator.next(), await iterator.next(), await iterator.next()].map((r) => describeChange(r.value));
    expect(next).toEqual(["2:up backend-2 UNSPECIFIED", "3:up backend-2 SERVING", "4:down backend-2"]);
    abort.abort();
  });

  it("a watch resumed with the last revision gets exactly what it missed; too old a revision gets a snapshot", async () => {
    const { client } = setup(3);
    for (const id of ["a", "b", "c", "d", "e"]) await client.register({ instance: instance(id) });
    const abort = new AbortController();
    const resumed = await take(client.watchInstances({ afterRevision: 3n }, { signal: abort.signal }), 2);
    expect(resumed.map(describeChange)).toEqual(["4:up d UNSPECIFIED", "5:up e UNSPECIFIED"]);
    const gap = await take(client.watchInstances({ afterRevision: 1n }, { signal: abort.signal }), 1);
    expect(gap.map(describeChange)).toEqual(["5:snapshot[a,b,c,d,e]"]);
    abort.abort();
  });

  it("a watch filtered by service sees only that service, removals included", async () => {
    const { client } = setup();
    const abort = new AbortController();
    const stream = client.watchInstances({ service: "backend" }, { signal: abort.signal });
    const iterator = stream[Symbol.asyncIterator]();
    expect(describeChange((await iterator.next()).value)).toBe("0:snapshot[]");
    const gw = await client.register({ instance: instance("gateway-1", "gateway", 8080) });
    await client.deregister({ instanceId: "gateway-1", leaseId: gw.leaseId });
    const b = await client.register({ instance: instance("backend-1") });
    await client.deregister({ instanceId: "backend-1", leaseId: b.leaseId });
    const next = [await iterator.next(), await iterator.next()].map((r) => describeChange(r.value));
    expect(next).toEqual(["3:up backend-1 UNSPECIFIED", "4:down backend-1"]);
    abort.abort();
  });

  it("ends watch streams when control stops", async () => {
    const { client, stop } = setup();
    const stream = client.watchInstances({});
    const seen: string[] = [];
    const done = (async () => {
      for await (const c of stream) seen.push(describeChange(c));
    })();
    await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    await done;
    expect(seen).toEqual(["0:snapshot[]"]);
  });
});

describe("RegistryService across a control restart", () => {
  it("a watcher resuming with a revision of the previous incarnation gets a snapshot", async () => {
    const before = createRegistryState({ initialRevision: 1_000_000 });
    before.register(instance("backend-1"), 15_000, 0);
    const lastSeen = before.revision;
    const after = createRegistryState({ initialRevision: 2_000_000 });
    after.register(instance("backend-2", "backend", 4002), 15_000, 0);
    const client = createClient(RegistryService, createRouterTransport(({ service }) => service(RegistryService, createRegistryService({ state: after }))));
    const abort = new AbortController();
    const [first] = await take(client.watchInstances({ afterRevision: BigInt(lastSeen) }, { signal: abort.signal }), 1);
    expect(describeChange(first!)).toBe("2000001:snapshot[backend-2]");
    abort.abort();
  });
});
