import { Counter, Gauge, Histogram, type Registry, type RegistryContentType } from "prom-client";
import type { QueueEngine, QueueObserver } from "./queue-engine.ts";

export interface QueueMetrics {
  /** Give it to createQueueEngine. */
  readonly observer: QueueObserver;
  /** The engine whose queues `queue_size` reports at each scrape. */
  watch(engine: QueueEngine): void;
  /** Adds the metrics to a registry (the mesh service's, served at GET /metrics). */
  register(registry: Registry<RegistryContentType>): void;
}

const latencyBuckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];
/** A scrape reads at most this many queues. */
const maxScrapedQueues = 500;

/**
 * queue_size per queue and priority (read from Valkey at each scrape), queue_messages per queue and state
 * (delayed, in_flight, dead), counters of what this backend enqueued, acked, retried and dead-lettered, and
 * lease latency: how long messages waited ready before a lease took them, and how long lease calls took.
 */
export function createQueueMetrics(): QueueMetrics {
  let engine: QueueEngine | undefined;
  const enqueued = new Counter({ name: "queue_enqueued_total", help: "Messages added to a queue.", labelNames: ["queue"], registers: [] });
  const acked = new Counter({ name: "queue_acked_total", help: "Messages acknowledged.", labelNames: ["queue"], registers: [] });
  const retried = new Counter({ name: "queue_retried_total", help: "Deliveries that failed (nack or lease expiry) and were scheduled again.", labelNames: ["queue"], registers: [] });
  const deadLettered = new Counter({ name: "queue_dead_lettered_total", help: "Messages moved to the dead-letter list.", labelNames: ["queue"], registers: [] });
  const leaseLatency = new Histogram({
    name: "queue_lease_latency_seconds",
    help: "Time from when a message became ready to when a lease took it.",
    labelNames: ["queue"],
    buckets: latencyBuckets,
    registers: [],
  });
  const leaseCall = new Histogram({
    name: "queue_lease_call_seconds",
    help: "Duration of the lease script call (without long-poll waiting), for calls that leased something.",
    labelNames: ["queue"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [],
  });
  const size = new Gauge({
    name: "queue_size",
    help: "Ready messages per queue and priority.",
    labelNames: ["queue", "priority"],
    registers: [],
    async collect() {
      this.reset();
      messages.reset();
      if (engine === undefined) return;
      const queues = (await engine.listQueues()).slice(0, maxScrapedQueues);
      const figures = await Promise.all(queues.map((q) => engine!.stats(q)));
      queues.forEach((queue, i) => {
        const f = figures[i]!;
        this.set({ queue, priority: "high" }, f.readyHigh);
        this.set({ queue, priority: "medium" }, f.readyMedium);
        this.set({ queue, priority: "low" }, f.readyLow);
        messages.set({ queue, state: "delayed" }, f.delayed);
        messages.set({ queue, state: "in_flight" }, f.inFlight);
        messages.set({ queue, state: "dead" }, f.dead);
      });
    },
  });
  const messages = new Gauge({ name: "queue_messages", help: "Messages per queue that are delayed, in flight or dead.", labelNames: ["queue", "state"], registers: [] });

  return {
    observer: {
      enqueued: (queue, n) => enqueued.inc({ queue }, n),
      acked: (queue, n) => acked.inc({ queue }, n),
      retried: (queue, n) => retried.inc({ queue }, n),
      deadLettered: (queue, n) => deadLettered.inc({ queue }, n),
      leased(queue, leased, nowMs, callSeconds) {
        leaseCall.observe({ queue }, callSeconds);
        for (const m of leased) leaseLatency.observe({ queue }, Math.max(0, nowMs - m.message.availableMs) / 1000);
      },
    },
    watch(e) {
      engine = e;
    },
    register(registry) {
      for (const metric of [size, messages, enqueued, acked, retried, deadLettered, leaseLatency, leaseCall]) registry.registerMetric(metric);
    },
  };
}
