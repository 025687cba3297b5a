import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  LeasedMessageSchema,
  MessageSchema,
  QueueStatsSchema,
  type LeasedMessage,
  type Message,
  type QueueStats,
} from "../../../../gen/mesh/queue/v1/queue_pb.ts";
import { valueFromJson } from "./json-value.ts";
import type { LeasedQueueMessage, StoredMessage } from "./queue-engine.ts";
import type { QueueFigures } from "./queue-figures.ts";

/** A stored message as the contract's Message. */
export function toMessage(m: StoredMessage): Message {
  return create(MessageSchema, {
    id: m.id,
    queue: m.queue,
    type: m.type,
    payload: m.payloadJson === "" ? undefined : valueFromJson(JSON.parse(m.payloadJson)),
    priority: m.priority,
    attempts: m.attempts,
    maxAttempts: m.maxAttempts,
    enqueueTime: timestampFromMs(m.enqueueMs),
    availableTime: timestampFromMs(m.availableMs),
    lastError: m.lastError,
    traceContext: { ...m.traceContext },
  });
}

export function toLeasedMessage(m: LeasedQueueMessage): LeasedMessage {
  return create(LeasedMessageSchema, {
    message: toMessage(m.message),
    leaseToken: m.token,
    leaseExpireTime: timestampFromMs(m.leaseExpireMs),
  });
}

export function toQueueStats(queue: string, f: QueueFigures): QueueStats {
  return create(QueueStatsSchema, {
    queue,
    readyHigh: BigInt(f.readyHigh),
    readyMedium: BigInt(f.readyMedium),
    readyLow: BigInt(f.readyLow),
    delayed: BigInt(f.delayed),
    inFlight: BigInt(f.inFlight),
    dead: BigInt(f.dead),
    enqueueRate: f.enqueueRate,
    ackRate: f.ackRate,
    retryRate: f.retryRate,
    deadLetterRate: f.deadLetterRate,
    oldestReadyTime: f.oldestReadyMs === undefined ? undefined : timestampFromMs(f.oldestReadyMs),
  });
}
