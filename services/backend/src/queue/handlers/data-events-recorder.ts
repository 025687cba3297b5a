import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { loadLuaScripts, runScript } from "../lua-scripts.ts";
import type { DataEvent } from "../outbox-relay.ts";
import { PermanentError, type MessageHandler } from "../worker-runtime.ts";

export interface DataEventsProjection {
  /** The latest event (highest outbox id) per aggregate id. */
  latest(aggregateId: string): Promise<DataEvent | undefined>;
  /** Events applied per topic. */
  topicCounts(): Promise<Record<string, number>>;
}

function projectionKeys(prefix: string): string[] {
  const base = `${prefix}@projection:data-events:`;
  return [`${base}latest`, `${base}latest-id`, `${base}topics`, `${base}applied`];
}

const rememberedIds = 100_000;

/**
 * The handler of the `data-events` queue: keeps a projection of the data service's events in Valkey (the
 * latest event per aggregate, counts per topic), applying each outbox id once however often it is delivered.
 */
export function createDataEventsRecorder(redis: Redis, keyPrefix: string): MessageHandler {
  const script = loadLuaScripts(fileURLToPath(new URL("../lua", import.meta.url))).get("record-data-event");
  if (script === undefined) throw new Error("missing Lua script record-data-event");
  const keys = projectionKeys(keyPrefix);
  return async function recordDataEvent(message) {
    let event: DataEvent;
    try {
      event = JSON.parse(message.payloadJson) as DataEvent;
    } catch {
      throw new PermanentError("the payload is not a data event (JSON with outboxId, topic, payload)");
    }
    if (typeof event !== "object" || event === null || !/^\d{1,19}$/.test(String(event.outboxId))) {
      throw new PermanentError("the payload is not a data event: outboxId must be the outbox row's id");
    }
    await runScript(redis, script, keys, [String(event.outboxId), message.type, event.aggregateId ?? "", message.payloadJson, rememberedIds]);
  };
}

/** Reads the projection that createDataEventsRecorder keeps. */
export function readDataEventsProjection(redis: Redis, keyPrefix: string): DataEventsProjection {
  const [latest, , topics] = projectionKeys(keyPrefix) as [string, string, string, string];
  return {
    async latest(aggregateId) {
      const json = await redis.hget(latest, aggregateId);
      return json === null ? undefined : (JSON.parse(json) as DataEvent);
    },
    async topicCounts() {
      const all = await redis.hgetall(topics);
      return Object.fromEntries(Object.entries(all).map(([topic, n]) => [topic, Number(n)]));
    },
  };
}
