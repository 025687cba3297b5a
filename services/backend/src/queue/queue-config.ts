import { z } from "zod";
import { env, loadConfig } from "../../../../lib/config/load-config.ts";
import { defaultKeyPrefix } from "./queue-keys.ts";

/**
 * The queue's settings, as a shape to spread into the backend's config schema (`...queueConfigShape`).
 * Every variable has a default; WEBHOOK_URL enables the webhook worker.
 */
export const queueConfigShape = {
  /** Prefix of every Valkey key and channel of the queue. */
  QUEUE_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:._{}-]{0,100}$/, { error: "expected up to 100 characters of A-Z, a-z, 0-9, ':', '.', '_', '{', '}' or '-'" })
    .default(defaultKeyPrefix),
  /** Largest message payload, JSON-encoded (the server accepts requests up to 4 MiB). */
  QUEUE_PAYLOAD_LIMIT_BYTES: env.int(1_048_576, 1, 4_000_000),
  /** Lease duration when a Lease or Consume call gives none. */
  QUEUE_DEFAULT_VISIBILITY_MS: env.int(30_000, 1000, 43_200_000),
  /** Aging step of the priority rule: medium overtakes high after this much longer wait, low after twice it. */
  QUEUE_AGING_MS: env.int(30_000, 1, 86_400_000),
  /** Retry backoff: first delay, largest delay, random fraction. */
  QUEUE_RETRY_BASE_MS: env.int(1000, 1, 3_600_000),
  QUEUE_RETRY_MAX_MS: env.int(300_000, 1, 86_400_000),
  QUEUE_RETRY_JITTER: env.ratio(0.5),
  /** How long an explicit message id stays taken after its ack (outbox ids); 0 turns that off. */
  QUEUE_DEDUPE_WINDOW_MS: env.int(3_600_000, 0, 604_800_000),
  /** How often expired leases and due delayed messages are swept in every queue. */
  QUEUE_REAPER_INTERVAL_MS: env.int(1000, 50, 60_000),
  /** Relay the data service's outbox to the data-events queue. */
  OUTBOX_RELAY_ENABLED: env.bool(true),
  OUTBOX_RELAY_INTERVAL_MS: env.int(500, 10, 60_000),
  OUTBOX_RELAY_BATCH: env.int(500, 1, 5000),
  /** Run the backend's own workers (data-events projection, webhook). */
  QUEUE_WORKERS_ENABLED: env.bool(true),
  QUEUE_WORKER_CONCURRENCY: env.int(16, 1, 1000),
  QUEUE_WORKER_TIMEOUT_MS: env.int(30_000, 100, 3_600_000),
  /** Where the webhook worker POSTs messages of type "webhook"; unset: no webhook worker. */
  WEBHOOK_URL: env.url(["http", "https"]).optional(),
  WEBHOOK_TIMEOUT_MS: env.int(10_000, 100, 300_000),
  /** The queue the webhook worker consumes. */
  WEBHOOK_QUEUE: env.name("webhooks"),
};

const queueConfigSchema = z.object(queueConfigShape);

export type QueueConfig = z.infer<typeof queueConfigSchema>;

/** The queue's settings alone (tools such as the soak consumer); services spread queueConfigShape instead. */
export function readQueueConfig(source: Readonly<Record<string, string | undefined>>): QueueConfig {
  return loadConfig(queueConfigSchema, source);
}
