import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { FaultService } from "../../gen/mesh/chaos/v1/fault_pb.ts";
import { DataService } from "../../gen/mesh/data/v1/data_pb.ts";
import { StatusService } from "../../gen/mesh/health/v1/status_pb.ts";
import { infraUrls } from "../../test/infra-context.ts";
import { startOtlpReceiver, type OtlpReceiver } from "../../test/otlp-receiver.ts";
import { databaseUrlInSchema, startService, stopAllServices, type SpawnedService } from "../../test/spawn-service.ts";
import { testKeyPrefix } from "../../test/test-redis.ts";
import { createTestSchema, type TestSchema } from "../../test/test-schema.ts";

let receiver: OtlpReceiver;
let backend: SpawnedService;
let db: TestSchema;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const { redisUrl } = infraUrls();
  // Its own schema and key prefixes: the outbox relay and the data-events queue see only this file's writes.
  db = await createTestSchema("tracing");
  const prefix = testKeyPrefix("tracing");
  backend = await startService({
    name: "backend",
    env: {
      INSTANCE_ID: "backend-traced",
      DATABASE_URL: databaseUrlInSchema(db.databaseUrl, db.schema),
      QUEUE_KEY_PREFIX: `${prefix}queue:`,
      CACHE_KEY_PREFIX: `${prefix}data:`,
      REDIS_URL: redisUrl,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "50",
      MESH_VERSION: "9.9.9",
    },
  });
});

afterAll(async () => {
  await stopAllServices();
  await receiver.close();
  await db.drop();
});

describe("tracing a backend process", () => {
  it("continues the caller's trace: server span named by RPC, with PostgreSQL and Valkey spans beneath it", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parentId = "00f067aa0ba902b7";
    const status = createClient(StatusService, createGrpcTransport({ baseUrl: backend.url }));
    await status.getStatus({}, { headers: { traceparent: `00-${traceId}-${parentId}-01`, "x-request-id": "req-42" } });

    const spans = await receiver.waitFor((all) => {
      const inTrace = all.filter((s) => s.traceId === traceId);
      return inTrace.some((s) => s.attributes["db.system"] === "postgresql" || s.attributes["db.system.name"] === "postgresql") &&
        inTrace.some((s) => s.attributes["db.system"] === "redis" || s.attributes["db.system.name"] === "redis");
    });
    const inTrace = spans.filter((s) => s.traceId === traceId);
    const server = inTrace.find((s) => s.name === "mesh.health.v1.StatusService/GetStatus");
    expect(server).toBeDefined();
    expect(server!.parentSpanId).toBe(parentId);
    expect(server!.kind).toBe(2);
    expect(server!.attributes).toMatchObject({ "rpc.system": "grpc", "rpc.service": "mesh.health.v1.StatusService", "rpc.method": "GetStatus", "mesh.request_id": "req-42" });
    expect(server!.resource).toMatchObject({ "service.name": "backend", "service.instance.id": "backend-traced", "service.version": "9.9.9" });
    const children = inTrace.filter((s) => s.parentSpanId === server!.spanId);
    const systems = new Set(children.map((s) => s.attributes["db.system"] ?? s.attributes["db.system.name"]));
    expect(systems).toContain("postgresql");
    expect(systems).toContain("redis");

    // The latency histogram keeps the trace as an exemplar (OpenMetrics), so a spike leads to this trace.
    const metrics = await (await fetch(`${backend.url}/metrics`)).text();
    const exemplarLine = metrics.split("\n").find((l) => l.startsWith("rpc_server_duration_seconds_bucket") && l.includes(`trace_id="${traceId}"`));
    expect(exemplarLine).toContain('rpc_method="GetStatus"');
  });

  it("writes trace_id, span_id and request_id into the log lines of a traced call", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const faults = createClient(FaultService, createGrpcTransport({ baseUrl: backend.url }));
    // Injecting a fault logs "fault injected" at warn, inside the call.
    const { fault } = await faults.injectFault(
      { fault: { duration: durationFromMs(1000), spec: { case: "latency", value: { delay: durationFromMs(1) } } } },
      { headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01`, "x-request-id": "req-43" } },
    );
    // pino writes asynchronously: the line may land just after the answer.
    const line = JSON.parse(await backend.waitForLine(new RegExp(`"fault_id":"${fault?.id}"`))) as Record<string, unknown>;
    expect(line).toMatchObject({ trace_id: traceId, request_id: "req-43", service: "backend", instance: "backend-traced" });
    expect(line?.span_id).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("tracing across the queue hop", () => {
  it("a data write's outbox event is processed by a worker whose consumer span links to the writer's trace", async () => {
    const traceId = "7a3f92f3577b34da6a3ce929d0e0e473";
    const data = createClient(DataService, createGrpcTransport({ baseUrl: backend.url }));
    await data.createItem({ item: { name: "traced item" } }, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    const spans = await receiver.waitFor((all) =>
      all.some((s) => s.kind === 5 && s.name === "process data-events" && s.links.some((l) => l.traceId === traceId)),
    );
    const producer = spans.find((s) => s.traceId === traceId && s.name === "mesh.data.v1.DataService/CreateItem");
    const consumer = spans.find((s) => s.kind === 5 && s.links.some((l) => l.traceId === traceId))!;
    expect(producer).toBeDefined();
    expect(consumer.traceId).not.toBe(traceId);
    expect(consumer.links[0]?.spanId).toBe(producer!.spanId);
    expect(consumer.resource["service.name"]).toBe("backend");
  });
});

describe("a backend with no OTLP endpoint", () => {
  it("runs no SDK yet still carries the caller's trace id and the request id into its logs", async () => {
    const { databaseUrl, redisUrl } = infraUrls();
    const plain = await startService({ name: "backend", env: { INSTANCE_ID: "backend-plain", DATABASE_URL: databaseUrl, REDIS_URL: redisUrl } });
    const traceId = "5bf92f3577b34da6a3ce929d0e0e4737";
    const faults = createClient(FaultService, createGrpcTransport({ baseUrl: plain.url }));
    const { fault } = await faults.injectFault(
      { fault: { duration: durationFromMs(1000), spec: { case: "latency", value: { delay: durationFromMs(1) } } } },
      { headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01`, "x-request-id": "req-44" } },
    );
    const line = JSON.parse(await plain.waitForLine(new RegExp(`"fault_id":"${fault?.id}"`))) as Record<string, unknown>;
    expect(line).toMatchObject({ trace_id: traceId, request_id: "req-44" });
    await plain.stop();
  });
});
