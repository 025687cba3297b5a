import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { context, propagation, trace } from "@opentelemetry/api";
import { notFound } from "../../../../lib/errors/connect-errors.ts";
import { isEnumValue } from "../../../../lib/errors/enum-value.ts";
import { DeadLetterSchema, PurgeScope, QueueService } from "../../../../gen/mesh/queue/v1/queue_pb.ts";
import type { ConsumeStreams } from "./consume-streams.ts";
import { createConsume } from "./consume.ts";
import { decodePageToken, encodePageToken } from "./dead-letter-page-token.ts";
import type { QueueEngine } from "./queue-engine.ts";
import { toLeasedMessage, toMessage, toQueueStats } from "./queue-proto.ts";
import {
  checkLeaseTokens,
  checkQueueName,
  countOrDefault,
  durationMillis,
  maxBatch,
  maxDelayMs,
  maxErrorLength,
  maxVisibilityMs,
  maxWaitMs,
  minVisibilityMs,
  optionalDuration,
  parseNewMessage,
  Violations,
} from "./validate-queue-request.ts";

export interface QueueServiceOptions {
  /** Largest payload, JSON-encoded. @default 1 MiB */
  payloadLimitBytes?: number;
  /** Tokens of remote Consume streams that this backend acked or nacked; published to their backend. */
  publishReleased?: (tokens: readonly string[]) => void;
  /** Ends every Consume stream (shutdown). */
  stopSignal?: AbortSignal;
}

/** The producer's W3C trace context: the active span (the server span of this call, a child of the caller's). */
function currentTraceContext(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

function noteConsumer(consumer: string): void {
  if (consumer !== "") trace.getActiveSpan()?.setAttribute("messaging.consumer.name", consumer.slice(0, 200));
}

/** mesh.queue.v1.QueueService on the engine: validation, then one engine call. Errors are mapped at the edge. */
export function createQueueService(engine: QueueEngine, streams: ConsumeStreams, options: QueueServiceOptions = {}): ServiceImpl<typeof QueueService> {
  const payloadLimitBytes = options.payloadLimitBytes ?? 1024 * 1024;
  const visibility = (v: Violations, d: Parameters<typeof optionalDuration>[0], field = "visibility_timeout") =>
    optionalDuration(d, field, minVisibilityMs, maxVisibilityMs, engine.defaultVisibilityMs, v);

  function released(tokens: readonly string[]): void {
    const remote = streams.released(tokens);
    if (remote.length > 0) options.publishReleased?.(remote);
  }

  return {
    async enqueue(req) {
      const v = new Violations();
      checkQueueName(req.queue, v);
      if (req.message === undefined) v.add("message", "is required");
      const input = req.message === undefined ? undefined : parseNewMessage(req.message, "message", payloadLimitBytes, v);
      v.throwIfAny();
      const message = { ...input!, traceContext: currentTraceContext() };
      const result = await engine.enqueue(req.queue, [message]);
      const id = result.ids[0]!;
      if (result.added[0] !== true) {
        const stored = await engine.get(req.queue, id);
        if (stored !== undefined) return { message: toMessage(stored) };
        // Acked within the dedupe window: nothing is stored any more; answer with what was asked.
      }
      return {
        message: toMessage({
          ...message,
          id,
          queue: req.queue,
          attempts: 0,
          enqueueMs: result.enqueueMs,
          availableMs: result.enqueueMs + message.delayMs,
          lastError: "",
        }),
      };
    },

    async batchEnqueue(req) {
      const v = new Violations();
      checkQueueName(req.queue, v);
      if (req.messages.length === 0) v.add("messages", "give 1 to 1,000 messages");
      if (req.messages.length > maxBatch) v.overLimit("messages", `${req.messages.length} messages; at most ${maxBatch} per batch`);
      const traceContext = currentTraceContext();
      const inputs = req.messages.slice(0, maxBatch).map((m, i) => ({ ...parseNewMessage(m, `messages[${i}]`, payloadLimitBytes, v), traceContext }));
      v.throwIfAny();
      const result = await engine.enqueue(req.queue, inputs);
      return { messageIds: [...result.ids] };
    },

    async lease(req, ctx) {
      const v = new Violations();
      checkQueueName(req.queue, v);
      const max = countOrDefault(req.maxMessages, "max_messages", 1, v);
      const visibilityMs = visibility(v, req.visibilityTimeout);
      const waitMs = optionalDuration(req.waitTime, "wait_time", 0, maxWaitMs, 0, v);
      v.throwIfAny();
      noteConsumer(req.consumer);
      const signal = options.stopSignal === undefined ? ctx.signal : AbortSignal.any([ctx.signal, options.stopSignal]);
      const leased = await engine.lease(req.queue, { max, visibilityMs, waitMs, signal });
      return { messages: leased.map(toLeasedMessage) };
    },

    async ack(req) {
      const v = new Violations();
      checkQueueName(req.queue, v);
      checkLeaseTokens(req.leaseTokens, v);
      v.throwIfAny();
      const acknowledgedCount = await engine.ack(req.queue, req.leaseTokens);
      released(req.leaseTokens);
      return { acknowledgedCount };
    },

    async nack(req) {
      const v = new Violations();
      checkQueueName(req.queue, v);
      checkLeaseTokens(req.leaseTokens, v);
      if (req.error.length > maxErrorLength) v.add("error", `must be at most ${maxErrorLength} characters`);
      const retryDelayMs = req.retryDelay === undefined ? undefined : durationMillis(req.retryDelay, "retry_delay", 0, maxDelayMs, v);
      v.throwIfAny();
      const result = await engine.nack(req.queue, req.leaseTokens, {
        error: req.error,
        ...(retryDelayMs === undefined ? {} : { retryDelayMs }),
        deadLetter: req.deadLetter,
      });
      released(req.leaseTokens);
      return { retriedCount: result.retried, deadLetteredCount: result.deadLettered };
    },

    async extendLease(req) {
      const v = new Violations();
      checkQueueName(req.queue, v);
      checkLeaseTokens(req.leaseTokens, v);
      if (req.visibilityTimeout === undefined) v.add("visibility_timeout", "is required: the new lease duration, 1 s to 12 h");
      const visibilityMs = req.visibilityTimeout === undefined ? 0 : durationMillis(req.visibilityTimeout, "visibility_timeout", minVisibilityMs, maxVisibilityMs, v);
      v.throwIfAny();
      const expiry = await engine.extend(req.queue, req.leaseTokens, visibilityMs!);
      return { leaseExpireTime: timestampFromMs(expiry) };
    },

    consume: createConsume(engine, streams, {
      visibility,
      ...(options.stopSignal === undefined ? {} : { stopSignal: options.stopSignal }),
      noteConsumer,
    }),

    async getQueueStats(req) {
      const v = new Violations();
      checkQueueName(req.queue, v);
      v.throwIfAny();
      const [figures, queues] = await Promise.all([engine.stats(req.queue), engine.listQueues()]);
      if (!queues.includes(req.queue)) throw notFound("queue", req.queue);
      return { stats: toQueueStats(req.queue, figures) };
    },

    async listQueues() {
      const names = await engine.listQueues();
      const figures = await Promise.all(names.map((name) => engine.stats(name)));
      return { queues: names.map((name, i) => toQueueStats(name, figures[i]!)) };
    },

    async listDeadLetters(req) {
      const v = new Violations();
      checkQueueName(req.queue, v);
      const pageSize = countOrDefault(req.pageSize, "page_size", 50, v);
      const after = req.pageToken === "" ? undefined : decodePageToken(req.pageToken);
      if (req.pageToken !== "" && after === undefined) v.add("page_token", "is not a page token of this listing: pass next_page_token as returned");
      v.throwIfAny();
      const page = await engine.listDeadLetters(req.queue, pageSize, after);
      return {
        deadLetters: page.items.map((item) => create(DeadLetterSchema, { message: toMessage(item.message), deadLetterTime: timestampFromMs(item.deadLetterMs) })),
        nextPageToken: page.next === undefined ? "" : encodePageToken(page.next),
        totalSize: BigInt(page.total),
      };
    },

    async redriveDeadLetters(req) {
      const v = new Violations();
      checkQueueName(req.queue, v);
      if (req.messageIds.length > maxBatch) v.overLimit("message_ids", `${req.messageIds.length} ids; at most ${maxBatch} per call (or none for all)`);
      req.messageIds.forEach((id, i) => {
        if (id.length === 0 || id.length > 200) v.add(`message_ids[${i}]`, "must be 1 to 200 characters");
      });
      v.throwIfAny();
      const count = await engine.redrive(req.queue, req.messageIds.length === 0 ? undefined : req.messageIds);
      return { redrivenCount: BigInt(count) };
    },

    async purgeQueue(req) {
      const v = new Violations();
      checkQueueName(req.queue, v);
      if (!isEnumValue(PurgeScope, req.scope)) v.add("scope", `unknown scope ${req.scope}: expected PURGE_SCOPE_READY, PURGE_SCOPE_DEAD_LETTERS or PURGE_SCOPE_ALL`);
      v.throwIfAny();
      const scope = req.scope === PurgeScope.UNSPECIFIED ? PurgeScope.READY : req.scope;
      const count = await engine.purge(req.queue, {
        ready: scope === PurgeScope.READY || scope === PurgeScope.ALL,
        dead: scope === PurgeScope.DEAD_LETTERS || scope === PurgeScope.ALL,
      });
      return { purgedCount: BigInt(count) };
    },
  };
}
