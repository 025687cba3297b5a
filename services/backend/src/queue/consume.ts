import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { ConsumeResponseSchema, type ConsumeRequest, type ConsumeResponse } from "../../../../gen/mesh/queue/v1/queue_pb.ts";
import type { ConsumeStreams } from "./consume-streams.ts";
import { newStreamId } from "./lease-token.ts";
import type { QueueEngine } from "./queue-engine.ts";
import { toLeasedMessage } from "./queue-proto.ts";
import { checkQueueName, countOrDefault, Violations } from "./validate-queue-request.ts";

export interface ConsumeOptions {
  /** The visibility timeout of a request (validated, defaulted). */
  visibility: (v: Violations, d: ConsumeRequest["visibilityTimeout"]) => number;
  noteConsumer: (consumer: string) => void;
  /** Ends every stream (shutdown). */
  stopSignal?: AbortSignal;
  /** How long one lease call long-polls. @default 5000 */
  pollMs?: number;
  /** While the stream is full, how often it asks the server which of its leases are still held. @default 1000 */
  checkMs?: number;
  /** When few slots are free, how long to wait for more before leasing. @default 2 */
  gatherMs?: number;
}

/**
 * The Consume handler: leases as many messages as the stream has free slots (max_in_flight minus those not
 * yet acked or nacked), long-polling when none is ready. A slot frees when the message is acked or nacked
 * through this backend (at once), through another backend (pub/sub, at once), or when its lease ends.
 */
export function createConsume(engine: QueueEngine, streams: ConsumeStreams, options: ConsumeOptions) {
  const pollMs = options.pollMs ?? 5000;
  const checkMs = options.checkMs ?? 1000;
  const gatherMs = options.gatherMs ?? 2;

  return async function* consume(req: ConsumeRequest, ctx: HandlerContext): AsyncGenerator<ConsumeResponse> {
    const v = new Violations();
    checkQueueName(req.queue, v);
    const maxInFlight = countOrDefault(req.maxInFlight, "max_in_flight", 10, v);
    const visibilityMs = options.visibility(v, req.visibilityTimeout);
    v.throwIfAny();
    options.noteConsumer(req.consumer);

    const signal = options.stopSignal === undefined ? ctx.signal : AbortSignal.any([ctx.signal, options.stopSignal]);
    const streamId = newStreamId();
    const slots = streams.open(streamId);
    try {
      while (!signal.aborted) {
        slots.dropExpired(Date.now());
        const free = maxInFlight - slots.size;
        if (free <= 0) {
          if (!(await slots.waitForSlot(checkMs, signal)) && !signal.aborted) {
            const tokens = slots.tokens();
            const held = await engine.leaseStatus(req.queue, tokens);
            slots.free(tokens.filter((_, i) => held[i] !== true));
          }
          continue;
        }
        if (free < Math.ceil(maxInFlight / 4) && slots.size > 0) {
          // Acks arrive in batches: a moment's wait lets more slots free, so that one lease fills them all.
          await new Promise((resolve) => setTimeout(resolve, gatherMs));
        }
        const leased = await engine.lease(req.queue, { max: maxInFlight - slots.size, visibilityMs, waitMs: pollMs, signal, streamId });
        for (const m of leased) {
          slots.add(m.token, m.leaseExpireMs);
          yield create(ConsumeResponseSchema, { message: toLeasedMessage(m) });
        }
      }
    } finally {
      slots.close();
    }
  };
}
