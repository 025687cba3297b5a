import type { ServiceImpl } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import type { Pool } from "pg";
import type { Registry } from "prom-client";
import type { QueueService } from "../../../../gen/mesh/queue/v1/queue_pb.ts";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import { createConsumeStreams } from "./consume-streams.ts";
import { createDataEventsRecorder } from "./handlers/data-events-recorder.ts";
import { createWebhookHandler, webhookMessageType } from "./handlers/webhook-handler.ts";
import { createOutboxRelay, dataEventsQueue } from "./outbox-relay.ts";
import type { QueueConfig } from "./queue-config.ts";
import { createQueueEngine, type QueueEngine } from "./queue-engine.ts";
import { releasedChannel } from "./queue-keys.ts";
import { createQueueMetrics } from "./queue-metrics.ts";
import { createQueueNotifier } from "./queue-notifier.ts";
import { createQueueReaper } from "./queue-reaper.ts";
import { createQueueService } from "./queue-service.ts";
import { createWorkerRuntime, type WorkerSubscription } from "./worker-runtime.ts";

export interface QueueModuleDeps {
  /** The backend's client; the module adds one subscriber connection of its own (redis.duplicate()). */
  redis: Redis;
  /** For the outbox relay. */
  pool: Pool;
  logger: Logger;
  config: QueueConfig;
}

export interface QueueModule {
  /** Register with `router.service(QueueService, queue.service)`. */
  readonly service: ServiceImpl<typeof QueueService>;
  readonly engine: QueueEngine;
  /** Adds the queue metrics to the mesh service's registry. */
  registerMetrics(registry: Registry): void;
  /** Starts the reaper, the outbox relay and the workers. */
  start(): void;
  /**
   * Ends Consume streams and long-polls at once, stops the relay and the reaper, and gives the workers
   * `graceMs` to finish before their leases are given back. Call it before closing `redis` and `pool`.
   */
  stop(graceMs: number): Promise<void>;
}

/** The queue: engine, RPC service, reaper, outbox relay, workers and metrics, wired from the config. */
export function createQueueModule(deps: QueueModuleDeps): QueueModule {
  const { redis, pool, logger, config } = deps;
  const prefix = config.QUEUE_KEY_PREFIX;
  const metrics = createQueueMetrics();
  const subscriber = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
  subscriber.on("error", () => {});
  const notifier = createQueueNotifier(subscriber, prefix, (err) => logger.warn({ err }, "queue wake-ups unavailable; long-polls poll instead"));
  const engine = createQueueEngine(redis, {
    keyPrefix: prefix,
    defaultVisibilityMs: config.QUEUE_DEFAULT_VISIBILITY_MS,
    agingMs: config.QUEUE_AGING_MS,
    retry: { baseMs: config.QUEUE_RETRY_BASE_MS, capMs: config.QUEUE_RETRY_MAX_MS, jitter: config.QUEUE_RETRY_JITTER },
    dedupeWindowMs: config.QUEUE_DEDUPE_WINDOW_MS,
    waiter: notifier,
    observer: metrics.observer,
  });
  metrics.watch(engine);

  const stopping = new AbortController();
  const streams = createConsumeStreams();
  notifier.onReleased((tokens) => streams.releasedElsewhere(tokens));
  const channel = releasedChannel(prefix);
  const service = createQueueService(engine, streams, {
    payloadLimitBytes: config.QUEUE_PAYLOAD_LIMIT_BYTES,
    stopSignal: stopping.signal,
    publishReleased(tokens) {
      redis.publish(channel, tokens.join("\n")).catch((err: unknown) => logger.debug({ err }, "could not publish released leases"));
    },
  });

  const reaper = createQueueReaper(engine, { intervalMs: config.QUEUE_REAPER_INTERVAL_MS, logger });
  const relay = config.OUTBOX_RELAY_ENABLED
    ? createOutboxRelay(pool, engine, { logger, pollMs: config.OUTBOX_RELAY_INTERVAL_MS, batchSize: config.OUTBOX_RELAY_BATCH })
    : undefined;
  const subscriptions: WorkerSubscription[] = [{ queue: dataEventsQueue, handlers: {}, fallback: createDataEventsRecorder(redis, prefix) }];
  if (config.WEBHOOK_URL !== undefined) {
    subscriptions.push({
      queue: config.WEBHOOK_QUEUE,
      handlers: { [webhookMessageType]: createWebhookHandler({ url: config.WEBHOOK_URL, timeoutMs: config.WEBHOOK_TIMEOUT_MS }) },
    });
  }
  const workers = config.QUEUE_WORKERS_ENABLED
    ? createWorkerRuntime(engine, subscriptions, { logger, concurrency: config.QUEUE_WORKER_CONCURRENCY, timeoutMs: config.QUEUE_WORKER_TIMEOUT_MS })
    : undefined;

  return {
    service,
    engine,
    registerMetrics: (registry) => metrics.register(registry),
    start() {
      reaper.start();
      relay?.start();
      workers?.start();
    },
    async stop(graceMs) {
      stopping.abort();
      const [workerResult] = await Promise.all([workers?.stop(graceMs), relay?.stop(), reaper.stop()]);
      if (workerResult !== undefined && workerResult.released > 0) logger.info({ released: workerResult.released }, "gave unfinished messages back to their queues");
      await notifier.close();
    },
  };
}
