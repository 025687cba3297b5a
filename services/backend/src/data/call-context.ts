import type { HandlerContext } from "@connectrpc/connect";
import { invalidArgument } from "../../../../lib/errors/connect-errors.ts";
import { currentRequestId } from "../../../../lib/telemetry/request-context.ts";

/** What the data layer needs of one RPC: its cancellation, its deadline, and who asked. */
export interface Call {
  /** Aborts when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
  /** Epoch milliseconds by which the call must be answered; undefined without a deadline. */
  readonly deadline: number | undefined;
  /** `package.Service/Method`, for method-filtered faults and logs. */
  readonly procedure: string;
  /** The request id (`x-request-id`) recorded in the audit log. */
  readonly requestId: string | null;
  /** Who made the change (`x-actor`), recorded in the audit log. */
  readonly actor: string;
}

const maxActorLength = 200;
// Control characters would make audit rows and logs ambiguous.
const controlCharacters = /[\u0000-\u001f\u007f]/;

/** Reads a Call from Connect's handler context; throws InvalidArgument for a malformed `x-actor` header. */
export function callFromContext(ctx: HandlerContext, now: () => number = Date.now): Call {
  const timeoutMs = ctx.timeoutMs();
  const actor = ctx.requestHeader.get("x-actor") ?? "";
  if (actor.length > maxActorLength || controlCharacters.test(actor)) {
    throw invalidArgument("x-actor", `the header must be at most ${maxActorLength} characters without control characters`);
  }
  return {
    signal: ctx.signal,
    deadline: timeoutMs === undefined ? undefined : now() + timeoutMs,
    procedure: `${ctx.service.typeName}/${ctx.method.name}`,
    // The tracing interceptor makes the id active; the header is the fallback when no context manager runs.
    requestId: currentRequestId() ?? ctx.requestHeader.get("x-request-id") ?? null,
    actor: actor === "" ? "anonymous" : actor,
  };
}

/** A Call for work outside any RPC (maintenance). */
export function backgroundCall(signal: AbortSignal, procedure = "background"): Call {
  return { signal, deadline: undefined, procedure, requestId: null, actor: "system" };
}
