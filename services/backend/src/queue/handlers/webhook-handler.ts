import { PermanentError, type MessageHandler } from "../worker-runtime.ts";

/** Message type that the webhook handler serves. */
export const webhookMessageType = "webhook";

export interface WebhookHandlerOptions {
  /** Where every message is POSTed. */
  url: string;
  /** Per request, within the worker's own per-message timeout. @default 10000 */
  timeoutMs?: number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * POSTs the message's payload (JSON) to the configured URL, with `x-mesh-message-id` (an idempotency key for
 * the receiver, since delivery is at least once), `x-mesh-message-type`, `x-mesh-attempt` and the producer's
 * `traceparent`/`tracestate`. A 2xx response acks; 408, 429 and 5xx (and network errors and timeouts) retry;
 * other statuses dead-letter at once, since sending the same request again cannot succeed.
 */
export function createWebhookHandler(options: WebhookHandlerOptions): MessageHandler {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const send = options.fetch ?? fetch;
  return async function postWebhook(message, signal) {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-mesh-message-id": message.id,
      "x-mesh-message-type": message.type,
      "x-mesh-attempt": String(message.attempts),
    };
    for (const key of ["traceparent", "tracestate"]) {
      const value = message.traceContext[key];
      if (value !== undefined) headers[key] = value;
    }
    const response = await send(options.url, {
      method: "POST",
      headers,
      body: message.payloadJson === "" ? "null" : message.payloadJson,
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      redirect: "manual",
    });
    await response.body?.cancel();
    if (response.ok) return;
    const reason = `the webhook answered HTTP ${response.status}`;
    if (response.status === 408 || response.status === 429 || response.status >= 500) throw new Error(reason);
    throw new PermanentError(reason);
  };
}
