import type { Pool, PoolClient } from "pg";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import type { EnqueueInput, QueueEngine } from "./queue-engine.ts";

/** The queue that receives the data service's outbox events. */
export const dataEventsQueue = "data-events";

/** What a `data-events` message carries as payload. Its type is the outbox topic, its id the outbox id. */
export interface DataEvent {
  readonly outboxId: string;
  readonly topic: string;
  readonly aggregateId: string | null;
  readonly createdAt: string;
  readonly payload: unknown;
}

export interface OutboxRelayOptions {
  logger: Logger;
  /** Rows per transaction. @default 500 */
  batchSize?: number;
  /** Wait between polls once the outbox is empty. @default 500 */
  pollMs?: number;
  /** statement_timeout of the relay's queries. @default 10000 */
  statementTimeoutMs?: number;
  /** @default "data-events" */
  queue?: string;
}

export interface OutboxRelay {
  start(): void;
  /** Stops polling and waits for the batch under way. */
  stop(): Promise<void>;
  /** Relays one batch; returns how many rows it sent (tests). */
  relayOnce(): Promise<number>;
}

interface OutboxRow {
  id: string;
  topic: string;
  aggregate_id: string | null;
  payload: unknown;
  trace_context: unknown;
  created_at: Date;
}

function traceContextOf(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== "object" || value === null) return out;
  for (const [key, v] of Object.entries(value)) if (typeof v === "string" && (key === "traceparent" || key === "tracestate")) out[key] = v;
  return out;
}

function toMessage(row: OutboxRow): EnqueueInput {
  const event: DataEvent = {
    outboxId: row.id,
    topic: row.topic,
    aggregateId: row.aggregate_id,
    createdAt: row.created_at.toISOString(),
    payload: row.payload,
  };
  return {
    id: row.id,
    type: row.topic,
    payloadJson: JSON.stringify(event),
    priority: 2,
    delayMs: 0,
    maxAttempts: 10,
    traceContext: traceContextOf(row.trace_context),
  };
}

/**
 * Relays committed outbox rows to the `data-events` queue, in batches, each in one transaction:
 * SELECT … FOR UPDATE SKIP LOCKED (so two backends never hold the same row), enqueue with the outbox id as
 * the message id, then mark the rows relayed and commit. A crash between the enqueue and the commit leaves
 * the rows unmarked; the next relay sends them again and the queue drops them by id (queued, leased, dead,
 * or acked within the dedupe window), so downstream sees one message per row.
 */
export function createOutboxRelay(pool: Pool, engine: QueueEngine, options: OutboxRelayOptions): OutboxRelay {
  const batchSize = options.batchSize ?? 500;
  const pollMs = options.pollMs ?? 500;
  const statementTimeoutMs = options.statementTimeoutMs ?? 10_000;
  const queue = options.queue ?? dataEventsQueue;
  const stopping = new AbortController();
  let loop: Promise<void> | undefined;

  async function inTransaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query("BEGIN");
      await client.query(`SET LOCAL statement_timeout = ${Math.floor(statementTimeoutMs)}`);
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async function relayOnce(): Promise<number> {
    return inTransaction(async (client) => {
      const { rows } = await client.query<OutboxRow>(
        `SELECT id::text AS id, topic, aggregate_id, payload, trace_context, created_at
           FROM outbox
          WHERE relayed_at IS NULL
          ORDER BY id
          LIMIT $1
          FOR UPDATE SKIP LOCKED`,
        [batchSize],
      );
      if (rows.length === 0) return 0;
      for (let i = 0; i < rows.length; i += 1000) await engine.enqueue(queue, rows.slice(i, i + 1000).map(toMessage));
      await client.query("UPDATE outbox SET relayed_at = now() WHERE id = ANY($1::bigint[])", [rows.map((r) => r.id)]);
      return rows.length;
    });
  }

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        stopping.signal.removeEventListener("abort", done);
        resolve();
      }
      stopping.signal.addEventListener("abort", done, { once: true });
    });
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        const sent = await relayOnce();
        if (failures > 0) options.logger.info("outbox relay recovered");
        failures = 0;
        if (sent < batchSize) await pause(pollMs);
      } catch (err) {
        if (failures === 0) options.logger.warn({ err }, "outbox relay failed; retrying");
        failures++;
        await pause(Math.min(pollMs * 2 ** failures, 30_000));
      }
    }
  }

  return {
    start() {
      loop ??= run();
    },
    async stop() {
      stopping.abort();
      await loop;
    },
    relayOnce,
  };
}
