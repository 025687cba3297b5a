import type { HealthCheck } from "./health-monitor.ts";

/** The part of an ioredis client that redisCheck uses. */
export interface RedisPingable {
  ping(): Promise<unknown>;
  /** ioredis's connection status ("ready", "reconnecting", ...). */
  readonly status?: string;
}

/** ioredis would queue the PING until it reconnects: fail at once instead. */
const disconnected = new Set(["close", "reconnecting", "end"]);

/** Passes when Redis (or Valkey) answers PING. */
export function redisCheck(redis: RedisPingable): HealthCheck {
  return async function redisCheck() {
    if (redis.status !== undefined && disconnected.has(redis.status)) {
      throw new Error(`redis connection is ${redis.status}`);
    }
    await redis.ping();
  };
}
