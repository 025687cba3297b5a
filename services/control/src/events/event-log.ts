import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type pg from "pg";
import { EventType, MeshEventSchema, type MeshEvent } from "../../../../gen/mesh/control/v1/events_pb.ts";

export interface NewEvent {
  type: EventType;
  message: string;
  service?: string;
  instanceId?: string;
  attributes?: JsonObject;
}

export interface EventFilter {
  types: readonly EventType[];
  service: string;
}

export interface EventLog {
  /** Stores an event and tells live watchers. */
  append(event: NewEvent): Promise<MeshEvent>;
  /** Stores an event inside the caller's transaction; call publish() with it after the commit. */
  insert(event: NewEvent, client: pg.ClientBase): Promise<MeshEvent>;
  /** Tells live watchers of a committed event. */
  publish(event: MeshEvent): void;
  /** Newest first, before `beforeSequence` when given. */
  list(filter: EventFilter, limit: number, beforeSequence?: bigint): Promise<MeshEvent[]>;
  /** Oldest first, after `afterSequence`. */
  listAfter(filter: EventFilter, afterSequence: bigint, limit: number): Promise<MeshEvent[]>;
  subscribe(listener: (event: MeshEvent) => void): () => void;
}

interface EventRow {
  sequence: string;
  type: number;
  time: Date;
  service: string;
  instance_id: string;
  message: string;
  attributes: JsonObject;
}

function toEvent(row: EventRow): MeshEvent {
  return create(MeshEventSchema, {
    sequence: BigInt(row.sequence),
    type: row.type as EventType,
    time: timestampFromDate(row.time),
    service: row.service,
    instanceId: row.instance_id,
    message: row.message,
    attributes: row.attributes,
  });
}

const columns = "sequence, type, time, service, instance_id, message, attributes";

/** The mesh event log in PostgreSQL, with in-process fan-out to live watchers. */
export function createEventLog(pool: pg.Pool): EventLog {
  const listeners = new Set<(event: MeshEvent) => void>();
  const filterSql = (filter: EventFilter, params: unknown[]): string => {
    const where: string[] = [];
    if (filter.types.length > 0) {
      params.push(filter.types);
      where.push(`type = ANY($${params.length}::smallint[])`);
    }
    if (filter.service !== "") {
      params.push(filter.service);
      where.push(`service = $${params.length}`);
    }
    return where.join(" AND ");
  };
  return {
    async insert(event, client) {
      const { rows } = await client.query<EventRow>(
        `INSERT INTO mesh_events (type, service, instance_id, message, attributes)
         VALUES ($1, $2, $3, $4, $5) RETURNING ${columns}`,
        [event.type, event.service ?? "", event.instanceId ?? "", event.message, JSON.stringify(event.attributes ?? {})],
      );
      return toEvent(rows[0]!);
    },
    publish(event) {
      for (const listener of listeners) listener(event);
    },
    async append(event) {
      const client = await pool.connect();
      let stored: MeshEvent;
      try {
        stored = await this.insert(event, client);
      } finally {
        client.release();
      }
      this.publish(stored);
      return stored;
    },
    async list(filter, limit, beforeSequence) {
      const params: unknown[] = [];
      const conditions = [filterSql(filter, params)];
      if (beforeSequence !== undefined) {
        params.push(beforeSequence.toString());
        conditions.push(`sequence < $${params.length}`);
      }
      params.push(limit);
      const where = conditions.filter((c) => c !== "").join(" AND ");
      const { rows } = await pool.query<EventRow>(
        `SELECT ${columns} FROM mesh_events ${where ? `WHERE ${where}` : ""} ORDER BY sequence DESC LIMIT $${params.length}`,
        params,
      );
      return rows.map(toEvent);
    },
    async listAfter(filter, afterSequence, limit) {
      const params: unknown[] = [afterSequence.toString()];
      const extra = filterSql(filter, params);
      params.push(limit);
      const { rows } = await pool.query<EventRow>(
        `SELECT ${columns} FROM mesh_events WHERE sequence > $1 ${extra ? `AND ${extra}` : ""} ORDER BY sequence ASC LIMIT $${params.length}`,
        params,
      );
      return rows.map(toEvent);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
