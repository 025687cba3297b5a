import type { Duration } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { invalidArguments } from "../../../../lib/errors/connect-errors.ts";
import type { NewMessage } from "../../../../gen/mesh/queue/v1/queue_pb.ts";
import type { EnqueueInput, PriorityLevel } from "./queue-engine.ts";
import { queueNamePattern } from "./queue-keys.ts";
import { valueToJson } from "./json-value.ts";
import { parseLeaseToken } from "./lease-token.ts";

/** Most messages, tokens or ids in one call. */
export const maxBatch = 1000;
export const maxDelayMs = 7 * 24 * 3600 * 1000;
export const minVisibilityMs = 1000;
export const maxVisibilityMs = 12 * 3600 * 1000;
export const maxWaitMs = 60_000;
export const maxErrorLength = 4096;
export const defaultMaxAttempts = 3;

/**
 * Collects every problem of a request, then throws once: InvalidArgument naming each field, or, when the
 * input is only too large (a payload over the limit, a batch over 1,000), ResourceExhausted.
 */
export class Violations {
  private readonly invalid: Array<{ field: string; reason: string }> = [];
  private readonly tooLarge: Array<{ field: string; reason: string }> = [];

  add(field: string, reason: string): void {
    this.invalid.push({ field, reason });
  }

  overLimit(field: string, reason: string): void {
    this.tooLarge.push({ field, reason });
  }

  throwIfAny(): void {
    if (this.invalid.length > 0) throw invalidArguments(this.invalid);
    if (this.tooLarge.length > 0) {
      throw new ConnectError(this.tooLarge.map((v) => `${v.field}: ${v.reason}`).join("; "), Code.ResourceExhausted);
    }
  }
}

export function checkQueueName(queue: string, v: Violations, field = "queue"): void {
  if (!queueNamePattern.test(queue)) v.add(field, "expected 1 to 100 characters of A-Z, a-z, 0-9, '.', '_' or '-'");
}

/** Milliseconds of a Duration, or undefined (with a violation) when it is malformed or out of [minMs, maxMs]. */
export function durationMillis(d: Duration, field: string, minMs: number, maxMs: number, v: Violations): number | undefined {
  const seconds = Number(d.seconds);
  if (Math.abs(d.nanos) > 999_999_999 || (seconds > 0 && d.nanos < 0) || (seconds < 0 && d.nanos > 0)) {
    v.add(field, "is not a valid duration: seconds and nanos must have the same sign and |nanos| < 1e9");
    return undefined;
  }
  const ms = seconds * 1000 + d.nanos / 1e6;
  if (ms < 0) {
    v.add(field, "must not be negative");
    return undefined;
  }
  if (ms < minMs || ms > maxMs) {
    v.add(field, `must be from ${formatMs(minMs)} to ${formatMs(maxMs)}`);
    return undefined;
  }
  return Math.floor(ms);
}

function formatMs(ms: number): string {
  if (ms === 0) return "0 s";
  if (ms % 3_600_000 === 0 && ms >= 3_600_000) return ms % 86_400_000 === 0 ? `${ms / 86_400_000} days` : `${ms / 3_600_000} h`;
  return `${ms / 1000} s`;
}

/** An optional Duration: `fallback` when unset. */
export function optionalDuration(d: Duration | undefined, field: string, minMs: number, maxMs: number, fallback: number, v: Violations): number {
  if (d === undefined) return fallback;
  return durationMillis(d, field, minMs, maxMs, v) ?? fallback;
}

/** A 1..1000 count that defaults when zero. */
export function countOrDefault(value: number, field: string, fallback: number, v: Violations, max = maxBatch): number {
  if (value === 0) return fallback;
  if (value < 1 || value > max) v.add(field, `must be from 1 to ${max} (0 means ${fallback})`);
  return value;
}

const priorities: Record<number, PriorityLevel> = { 0: 2, 1: 1, 2: 2, 3: 3 };

/** A NewMessage as the engine takes it; problems go to `v` under `field`. */
export function parseNewMessage(m: NewMessage, field: string, payloadLimitBytes: number, v: Violations): EnqueueInput {
  if (m.type.length === 0) v.add(`${field}.type`, "is required: the message type that workers dispatch on");
  else if (m.type.length > 200) v.add(`${field}.type`, "must be at most 200 characters");
  const priority = priorities[m.priority];
  if (priority === undefined) v.add(`${field}.priority`, `unknown priority ${m.priority}: expected PRIORITY_HIGH, PRIORITY_MEDIUM or PRIORITY_LOW`);
  if (m.maxAttempts < 0 || m.maxAttempts > 100) v.add(`${field}.max_attempts`, "must be from 1 to 100 (0 means 3)");
  if (m.id.length > 200) v.add(`${field}.id`, "must be at most 200 characters");
  const delayMs = m.delay === undefined ? 0 : (durationMillis(m.delay, `${field}.delay`, 0, maxDelayMs, v) ?? 0);
  let payloadJson = "";
  if (m.payload !== undefined) {
    try {
      payloadJson = JSON.stringify(valueToJson(m.payload));
    } catch {
      v.add(`${field}.payload`, "is not valid JSON (numbers must be finite)");
    }
    const bytes = Buffer.byteLength(payloadJson);
    if (bytes > payloadLimitBytes) v.overLimit(`${field}.payload`, `is ${bytes} bytes encoded; the limit is ${payloadLimitBytes}`);
  }
  return {
    ...(m.id === "" ? {} : { id: m.id }),
    type: m.type,
    payloadJson,
    priority: priority ?? 2,
    delayMs,
    maxAttempts: m.maxAttempts === 0 ? defaultMaxAttempts : m.maxAttempts,
    traceContext: {},
  };
}

/** 1 to 1,000 well-formed lease tokens. */
export function checkLeaseTokens(tokens: readonly string[], v: Violations): void {
  if (tokens.length === 0) v.add("lease_tokens", "give at least one lease token");
  if (tokens.length > maxBatch) v.overLimit("lease_tokens", `${tokens.length} tokens; at most ${maxBatch} per call`);
  let reported = 0;
  tokens.forEach((token, i) => {
    if (reported < 10 && parseLeaseToken(token) === undefined) {
      v.add(`lease_tokens[${i}]`, "is not a lease token: pass the lease_token of a LeasedMessage as it was returned");
      reported++;
    }
  });
}
