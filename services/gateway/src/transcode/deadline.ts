import type { IncomingHttpHeaders } from "node:http";
import { invalidArgument } from "../../../../lib/errors/connect-errors.ts";

const grpcUnits: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * The deadline a REST caller asked for, in milliseconds, from any of:
 * - `grpc-timeout` (gRPC: up to 8 digits and a unit H, M, S, m, u or n),
 * - `connect-timeout-ms` (Connect: up to 10 digits),
 * - `X-Server-Timeout` (Google APIs: seconds, fractions allowed).
 * The shortest wins. Undefined when none is given; a malformed value is an InvalidArgument.
 */
export function requestedTimeoutMs(headers: IncomingHttpHeaders): number | undefined {
  let shortest: number | undefined;
  const grpc = headers["grpc-timeout"];
  if (grpc !== undefined) {
    const match = /^(\d{1,8})([HMSmun])$/.exec(String(grpc));
    if (!match) throw invalidArgument("grpc-timeout", "expected 1 to 8 digits and a unit H, M, S, m, u or n, such as 500m");
    shortest = Number(match[1]) * grpcUnits[match[2]!]!;
  }
  const connect = headers["connect-timeout-ms"];
  if (connect !== undefined) {
    if (!/^\d{1,10}$/.test(String(connect))) throw invalidArgument("connect-timeout-ms", "expected 1 to 10 digits of milliseconds");
    shortest = Math.min(shortest ?? Infinity, Number(connect));
  }
  const server = headers["x-server-timeout"];
  if (server !== undefined) {
    if (!/^\d{1,9}(\.\d{1,9})?$/.test(String(server))) throw invalidArgument("x-server-timeout", "expected seconds, such as 2.5");
    shortest = Math.min(shortest ?? Infinity, Number(server) * 1000);
  }
  return shortest;
}

export interface DeadlinePolicy {
  /** Applied to unary calls that ask for none; 0 for no deadline. */
  readonly defaultMs: number;
  /** No call gets longer than this; 0 for no cap. */
  readonly maxMs: number;
}

/**
 * The deadline for the upstream call: the requested one (or the default for unary calls), capped. Streams
 * that ask for none get none: watches are meant to stay open. Sub-millisecond requests round up to 1 ms, so
 * they fail with DEADLINE_EXCEEDED rather than meaning "no deadline".
 */
export function upstreamTimeoutMs(requested: number | undefined, streaming: boolean, policy: DeadlinePolicy): number | undefined {
  let ms = requested ?? (streaming || policy.defaultMs === 0 ? undefined : policy.defaultMs);
  if (policy.maxMs > 0) ms = ms === undefined ? (streaming ? undefined : policy.maxMs) : Math.min(ms, policy.maxMs);
  return ms === undefined ? undefined : Math.max(1, Math.ceil(ms));
}
