import { create } from "@bufbuild/protobuf";
import { durationFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../../../gen/google/rpc/error_details_pb.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { NewMessageSchema, QueueService, type Priority, type PurgeScope } from "../../../../gen/mesh/queue/v1/queue_pb.ts";
import { createErrorInterceptor } from "../../../../lib/errors/error-interceptor.ts";
import { createLogger } from "../../../../lib/logging/create-logger.ts";
import { createConsumeStreams } from "./consume-streams.ts";
import type { QueueEngine } from "./queue-engine.ts";
import { createQueueService } from "./queue-service.ts";

/** An engine that records every call: validation must reject bad input before any of them. */
function recordingEngine(calls: string[]): QueueEngine {
  return new Proxy({ keyPrefix: "t:", defaultVisibilityMs: 30_000 } as QueueEngine, {
    get(target, key) {
      if (key in target) return target[key as keyof QueueEngine];
      return async () => {
        calls.push(String(key));
        return { ids: [], added: [] };
      };
    },
  });
}

function setup(payloadLimitBytes = 1024) {
  const calls: string[] = [];
  const logger = createLogger({ service: "test", instance: "test", level: "silent" });
  const transport = createRouterTransport(
    (router) => router.service(QueueService, createQueueService(recordingEngine(calls), createConsumeStreams(), { payloadLimitBytes })),
    { router: { interceptors: [createErrorInterceptor(logger)] } },
  );
  return { client: createClient(QueueService, transport), calls };
}

const ok = (fields: MessageInitShape<typeof NewMessageSchema> = {}) => create(NewMessageSchema, { type: "t", ...fields });
const token = "l0123abcd_1.message-1";

async function rejection(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the call succeeded");
}

describe("QueueService validation (nothing reaches the engine)", () => {
  it.each<[string, (c: ReturnType<typeof setup>["client"]) => Promise<unknown>, Code, string]>([
    ["a bad queue name", (c) => c.enqueue({ queue: "no spaces", message: ok() }), Code.InvalidArgument, "queue"],
    ["an empty queue name", (c) => c.enqueue({ queue: "", message: ok() }), Code.InvalidArgument, "queue"],
    ["no message", (c) => c.enqueue({ queue: "q" }), Code.InvalidArgument, "message"],
    ["an empty type", (c) => c.enqueue({ queue: "q", message: ok({ type: "" }) }), Code.InvalidArgument, "message.type"],
    ["a type over 200 characters", (c) => c.enqueue({ queue: "q", message: ok({ type: "x".repeat(201) }) }), Code.InvalidArgument, "message.type"],
    ["an unknown priority", (c) => c.enqueue({ queue: "q", message: ok({ priority: 7 as Priority }) }), Code.InvalidArgument, "message.priority"],
    ["a negative delay", (c) => c.enqueue({ queue: "q", message: ok({ delay: durationFromMs(-1000) }) }), Code.InvalidArgument, "message.delay"],
    ["a delay over 7 days", (c) => c.enqueue({ queue: "q", message: ok({ delay: durationFromMs(8 * 86_400_000) }) }), Code.InvalidArgument, "message.delay"],
    ["negative max attempts", (c) => c.enqueue({ queue: "q", message: ok({ maxAttempts: -1 }) }), Code.InvalidArgument, "message.max_attempts"],
    ["absurd max attempts", (c) => c.enqueue({ queue: "q", message: ok({ maxAttempts: 1_000_000 }) }), Code.InvalidArgument, "message.max_attempts"],
    ["an id over 200 characters", (c) => c.enqueue({ queue: "q", message: ok({ id: "i".repeat(201) }) }), Code.InvalidArgument, "message.id"],
    [
      "a payload over the limit",
      (c) => c.enqueue({ queue: "q", message: ok({ payload: create(ValueSchema, { kind: { case: "stringValue", value: "x".repeat(2000) } }) }) }),
      Code.ResourceExhausted,
      "message.payload",
    ],
    [
      "a non-finite number in the payload",
      (c) => c.enqueue({ queue: "q", message: ok({ payload: create(ValueSchema, { kind: { case: "numberValue", value: Number.NaN } }) }) }),
      Code.InvalidArgument,
      "message.payload",
    ],
    ["an empty batch", (c) => c.batchEnqueue({ queue: "q", messages: [] }), Code.InvalidArgument, "messages"],
    ["a batch over 1,000", (c) => c.batchEnqueue({ queue: "q", messages: Array.from({ length: 1001 }, () => ok()) }), Code.ResourceExhausted, "messages"],
    [
      "one bad message in a batch",
      (c) => c.batchEnqueue({ queue: "q", messages: [ok(), ok(), ok({ type: "" }), ok()] }),
      Code.InvalidArgument,
      "messages[2].type",
    ],
    ["zero visibility", (c) => c.lease({ queue: "q", visibilityTimeout: durationFromMs(0) }), Code.InvalidArgument, "visibility_timeout"],
    ["visibility over 12 h", (c) => c.lease({ queue: "q", visibilityTimeout: durationFromMs(13 * 3_600_000) }), Code.InvalidArgument, "visibility_timeout"],
    ["max messages over 1,000", (c) => c.lease({ queue: "q", maxMessages: 1001 }), Code.InvalidArgument, "max_messages"],
    ["a wait over 60 s", (c) => c.lease({ queue: "q", waitTime: durationFromMs(61_000) }), Code.InvalidArgument, "wait_time"],
    ["no tokens", (c) => c.ack({ queue: "q", leaseTokens: [] }), Code.InvalidArgument, "lease_tokens"],
    ["a malformed token", (c) => c.ack({ queue: "q", leaseTokens: [token, "nonsense"] }), Code.InvalidArgument, "lease_tokens[1]"],
    ["over 1,000 tokens", (c) => c.nack({ queue: "q", leaseTokens: Array.from({ length: 1001 }, () => token) }), Code.ResourceExhausted, "lease_tokens"],
    ["a nack error over 4,096 characters", (c) => c.nack({ queue: "q", leaseTokens: [token], error: "e".repeat(4097) }), Code.InvalidArgument, "error"],
    ["a negative retry delay", (c) => c.nack({ queue: "q", leaseTokens: [token], retryDelay: durationFromMs(-1) }), Code.InvalidArgument, "retry_delay"],
    ["an extension without timeout", (c) => c.extendLease({ queue: "q", leaseTokens: [token] }), Code.InvalidArgument, "visibility_timeout"],
    ["a bad page token", (c) => c.listDeadLetters({ queue: "q", pageToken: "garbage" }), Code.InvalidArgument, "page_token"],
    ["a page over 1,000", (c) => c.listDeadLetters({ queue: "q", pageSize: 5000 }), Code.InvalidArgument, "page_size"],
    ["an empty redrive id", (c) => c.redriveDeadLetters({ queue: "q", messageIds: [""] }), Code.InvalidArgument, "message_ids[0]"],
    ["an unknown purge scope", (c) => c.purgeQueue({ queue: "q", scope: 9 as PurgeScope }), Code.InvalidArgument, "scope"],
  ])("rejects %s", async (_, call, code, field) => {
    const { client, calls } = setup();
    const err = await rejection(call(client));
    expect(Code[err.code]).toBe(Code[code]);
    expect(err.rawMessage).toContain(field);
    if (code === Code.InvalidArgument) {
      const [detail] = err.findDetails(BadRequestSchema);
      expect(detail?.fieldViolations.map((v) => v.field)).toContain(field);
    }
    expect(calls).toEqual([]);
  });

  it("rejects a Consume stream with a bad max_in_flight before it leases anything", async () => {
    const { client, calls } = setup();
    const err = await rejection(
      (async () => {
        for await (const _ of client.consume({ queue: "q", maxInFlight: 1001 })) break;
      })(),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("max_in_flight");
    expect(calls).toEqual([]);
  });

  it("names every problem of a request at once", async () => {
    const { client } = setup();
    const err = await rejection(client.enqueue({ queue: "bad queue", message: ok({ type: "", maxAttempts: 101 }) }));
    const [detail] = err.findDetails(BadRequestSchema);
    expect(detail?.fieldViolations.map((v) => v.field).sort()).toEqual(["message.max_attempts", "message.type", "queue"]);
  });
});
