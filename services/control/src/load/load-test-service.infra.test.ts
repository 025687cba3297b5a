import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoadTestService, LoadTestSpecSchema, LoadTestState, type LoadTest } from "../../../../gen/mesh/control/v1/load_test_pb.ts";
import { migrate } from "../../../../lib/db/migrate.ts";
import { createLogger } from "../../../../lib/logging/create-logger.ts";
import { startMeshService, type MeshService } from "../../../../lib/server/start-mesh-service.ts";
import { createTestSchema, type TestSchema } from "../../../../test/test-schema.ts";
import { controlMigrationsDir } from "../control.ts";
import { createEventLog } from "../events/event-log.ts";
import { meshServices } from "../../../../lib/mesh-services.ts";
import { createLoadTestRunner, type LoadTestRunner } from "./load-test-runner.ts";
import { createLoadTestService } from "./load-test-service.ts";

const logger = createLogger({ service: "control", instance: "test", level: "silent" });
let db: TestSchema;
let target: MeshService;
let runner: LoadTestRunner;
let client: ReturnType<typeof createClient<typeof LoadTestService>>;

beforeAll(async () => {
  db = await createTestSchema("load-tests");
  await migrate(db.pool, { dir: controlMigrationsDir, schema: db.schema });
  // The target: a real mesh server whose own metrics count the calls it handled.
  target = await startMeshService({ service: "target", instanceId: "target-1", version: "test", host: "127.0.0.1", port: 0, logger, routes() {} });
  runner = createLoadTestRunner({ pool: db.pool, events: createEventLog(db.pool), logger, gatewayUrl: target.server.url });
  client = createClient(LoadTestService, createRouterTransport(({ service }) => service(LoadTestService, createLoadTestService({ runner, meshServices }))));
});

afterAll(async () => {
  await runner.close();
  await target.drain(1000);
  await db.drop();
});

const rpcInit = (durationMs: number, rps = 200): MessageInitShape<typeof LoadTestSpecSchema> => ({
  target: { case: "rpc", value: { method: "mesh.health.v1.StatusService/GetStatus" } },
  concurrency: 8,
  requestsPerSecond: rps,
  duration: durationFromMs(durationMs),
  name: "status",
});
const rpcSpec = (durationMs: number, rps = 200) => create(LoadTestSpecSchema, rpcInit(durationMs, rps));

async function watchToEnd(id: string): Promise<LoadTest[]> {
  const seen: LoadTest[] = [];
  for await (const { loadTest } of client.watchLoadTest({ id })) if (loadTest) seen.push(loadTest);
  return seen;
}

describe("LoadTestService", () => {
  it("runs a test whose counts match the target's own metrics, streams progress, and stores the result", async () => {
    const before = target.metrics.traffic().requestsTotal;
    const { loadTest } = await client.startLoadTest({ spec: rpcSpec(1500) });
    const updates = await watchToEnd(loadTest!.id);
    const last = updates.at(-1)!;
    expect(last.state).toBe(LoadTestState.COMPLETED);
    expect(updates.length).toBeGreaterThan(2);
    const p = last.progress!;
    expect(p.sent).toBe(p.succeeded + p.failed);
    expect(p.failed).toBe(0n);
    expect(p.succeeded).toBeGreaterThan(0n);
    expect(BigInt(target.metrics.traffic().requestsTotal - before)).toBe(p.succeeded);
    const stored = await client.getLoadTest({ id: loadTest!.id });
    expect(stored.loadTest?.progress?.succeeded).toBe(p.succeeded);
    expect(stored.loadTest?.endTime).toBeDefined();
  });

  it("counts failures by code", async () => {
    const spec = create(LoadTestSpecSchema, {
      target: { case: "rpc", value: { method: "mesh.data.v1.DataService/GetItem", request: { id: "x" } } },
      concurrency: 4,
      requestsPerSecond: 50,
      duration: durationFromMs(1000),
    });
    const { loadTest } = await client.startLoadTest({ spec });
    const last = (await watchToEnd(loadTest!.id)).at(-1)!;
    expect(last.progress?.failed).toBe(last.progress?.sent);
    expect(Object.keys(last.progress?.failuresByCode ?? {})).toEqual(["unimplemented"]);
  });

  it("keeps one test per target unless forced, and stops a test early", async () => {
    const { loadTest } = await client.startLoadTest({ spec: rpcSpec(60_000, 20) });
    await expect(client.startLoadTest({ spec: rpcSpec(1000, 20) })).rejects.toMatchObject({ code: Code.FailedPrecondition });
    const forced = await client.startLoadTest({ spec: rpcSpec(1000, 20), force: true });
    await client.stopLoadTest({ id: forced.loadTest!.id });
    const stopped = await client.stopLoadTest({ id: loadTest!.id });
    expect(stopped.loadTest?.state).toBe(LoadTestState.STOPPED);
    expect((await client.getLoadTest({ id: loadTest!.id })).loadTest?.state).toBe(LoadTestState.STOPPED);
  });

  it("lists newest first with page tokens", async () => {
    const first = await client.listLoadTests({ pageSize: 2 });
    const second = await client.listLoadTests({ pageSize: 2, pageToken: first.nextPageToken });
    const all = [...first.loadTests, ...second.loadTests];
    expect(new Set(all.map((t) => t.id)).size).toBe(all.length);
    expect(all.length).toBeGreaterThanOrEqual(4);
    await expect(client.listLoadTests({ pageToken: "garbage" })).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  it.each([
    [{ target: { case: "http" as const, value: { method: "GET", path: "http://example.com/" } } }, "spec.http.path"],
    [{ target: { case: "http" as const, value: { method: "GET", path: "//example.com/x" } } }, "spec.http.path"],
    [{ target: { case: "http" as const, value: { method: "TRACE", path: "/v1/items" } } }, "spec.http.method"],
    [{ target: { case: "rpc" as const, value: { method: "evil.v1.Outside/Call" } } }, "spec.rpc.method"],
    [{ target: { case: "rpc" as const, value: { method: "mesh.queue.v1.QueueService/Consume" } } }, "spec.rpc.method"],
    [{ concurrency: 0 }, "spec.concurrency"],
    [{ requestsPerSecond: 1e9 }, "spec.requests_per_second"],
    [{ duration: durationFromMs(10 * 3_600_000) }, "spec.duration"],
  ])("rejects bad specs (%#) naming %s", async (change, field) => {
    const spec = create(LoadTestSpecSchema, { ...rpcInit(1000), ...change } as MessageInitShape<typeof LoadTestSpecSchema>);
    await expect(client.startLoadTest({ spec })).rejects.toMatchObject({ code: Code.InvalidArgument, rawMessage: expect.stringContaining(`${field}:`) });
  });

  it("answers NOT_FOUND for an unknown id and INVALID_ARGUMENT for a malformed one", async () => {
    await expect(client.getLoadTest({ id: "00000000-0000-0000-0000-000000000000" })).rejects.toMatchObject({ code: Code.NotFound });
    await expect(client.getLoadTest({ id: "x" })).rejects.toMatchObject({ code: Code.InvalidArgument });
  });
});
