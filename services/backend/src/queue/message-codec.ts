/** Priority levels as stored: 1 high, 2 medium, 3 low (the contract's enum values). */
export type PriorityLevel = 1 | 2 | 3;

/** A message as stored in a queue. */
export interface StoredMessage {
  readonly id: string;
  readonly queue: string;
  readonly type: string;
  /** The payload as JSON text; "" when the producer set none. */
  readonly payloadJson: string;
  readonly priority: PriorityLevel;
  /** Deliveries so far, including the current one of a leased message. */
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly enqueueMs: number;
  readonly availableMs: number;
  /** "" when none. */
  readonly lastError: string;
  /** The producer's W3C trace context (`traceparent`, `tracestate`). */
  readonly traceContext: Readonly<Record<string, string>>;
}

/** The mutable part, as lease-12.lua and friends keep it: "priority|max|attempts|available|explicit|lease|nacked". */
export interface MessageState {
  readonly priority: PriorityLevel;
  readonly maxAttempts: number;
  readonly attempts: number;
  readonly availableMs: number;
  readonly explicitId: boolean;
  /** Nonce of the current lease, "" when not leased. */
  readonly lease: string;
}

/**
 * The immutable body: "<enqueue ms>|<meta length>|<meta json><payload json>". The enqueue time comes first so
 * that scripts read it without decoding JSON; the payload follows as the producer's JSON text, never re-encoded.
 */
export function encodeBody(enqueueMs: number, type: string, traceContext: Readonly<Record<string, string>>, payloadJson: string): string {
  const meta = Object.keys(traceContext).length === 0 ? JSON.stringify({ t: type }) : JSON.stringify({ t: type, c: traceContext });
  return `${enqueueMs}|${meta.length}|${meta}${payloadJson}`;
}

export interface DecodedBody {
  readonly enqueueMs: number;
  readonly type: string;
  readonly traceContext: Readonly<Record<string, string>>;
  readonly payloadJson: string;
}

export function decodeBody(body: string): DecodedBody {
  const first = body.indexOf("|");
  const second = body.indexOf("|", first + 1);
  const metaLength = Number(body.slice(first + 1, second));
  const meta = JSON.parse(body.slice(second + 1, second + 1 + metaLength)) as { t: string; c?: Record<string, string> };
  return {
    enqueueMs: Number(body.slice(0, first)),
    type: meta.t,
    traceContext: meta.c ?? {},
    payloadJson: body.slice(second + 1 + metaLength),
  };
}

export function encodeState(state: MessageState, nacked = ""): string {
  return `${state.priority}|${state.maxAttempts}|${state.attempts}|${state.availableMs}|${state.explicitId ? 1 : 0}|${state.lease}|${nacked}`;
}

export function decodeState(raw: string): MessageState {
  const [p, m, a, v, x, t] = raw.split("|");
  return {
    priority: Number(p) as PriorityLevel,
    maxAttempts: Number(m),
    attempts: Number(a),
    availableMs: Number(v),
    explicitId: x === "1",
    lease: t ?? "",
  };
}

/** A stored message from its parts as scripts return them. */
export function decodeMessage(queue: string, id: string, body: string, state: string, lastError: string): StoredMessage {
  const b = decodeBody(body);
  const s = decodeState(state);
  return {
    id,
    queue,
    type: b.type,
    payloadJson: b.payloadJson,
    priority: s.priority,
    attempts: s.attempts,
    maxAttempts: s.maxAttempts,
    enqueueMs: b.enqueueMs,
    availableMs: s.availableMs,
    lastError,
    traceContext: b.traceContext,
  };
}
