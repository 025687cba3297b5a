import type { DescMessage, DescMethodServerStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError, createContextKey, type ContextValues, type StreamResponse, type Transport, type UnaryResponse } from "@connectrpc/connect";
import { propagation, type TextMapSetter } from "@opentelemetry/api";
import { outcomeOfError } from "../resilience/attempt-outcome.ts";
import type { CallRunner } from "../resilience/call-runner.ts";
import type { Upstream } from "../upstream.ts";
import type { UpstreamPool } from "../upstreams/upstream-pool.ts";
import { createUpstreamTransport, type UpstreamProtocol } from "./upstream-transport.ts";

/** The REST route template of a call, for the gateway's metrics (set by the transcoder). */
export const restRouteKey = createContextKey<string | undefined>(undefined, { description: "REST route template" });

type HeadersInit = Parameters<Transport["unary"]>[3];

const headerSetter: TextMapSetter<Headers> = { set: (carrier, key, value) => carrier.set(key, value) };

export interface ResilientTransportOptions {
  runner: CallRunner;
  protocol: UpstreamProtocol;
  /** Headers the gateway adds to each upstream request to a pool of `service`: its service credential. */
  upstreamHeaders(service: string): Readonly<Record<string, string>>;
}

/**
 * Transports for REST calls that go through the same balancing and resilience as the pass-through: each
 * attempt picks an instance of the pool and uses that instance's own HTTP/2 connection. Unary calls may be
 * retried on another instance; server streams are sent once (balanced, behind bulkhead and breaker, which
 * see the call until the stream's headers arrive).
 */
export function createResilientTransports(options: ResilientTransportOptions): (pool: UpstreamPool, rpcService: string) => Transport {
  const { runner } = options;
  const perUpstream = new WeakMap<Upstream, Transport>();
  const transportOf = (upstream: Upstream) => {
    let transport = perUpstream.get(upstream);
    if (!transport) {
      transport = createUpstreamTransport(upstream, options.protocol);
      perUpstream.set(upstream, transport);
    }
    return transport;
  };
  const attemptHeaders = (service: string, header: HeadersInit | undefined, traceContext: Parameters<typeof propagation.inject>[0]) => {
    const headers = new Headers(header);
    propagation.inject(traceContext, headers, headerSetter);
    for (const [name, value] of Object.entries(options.upstreamHeaders(service))) headers.set(name, value);
    return headers;
  };

  return (pool, rpcService) => ({
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      // Each attempt copies these (attemptHeaders), so the caller's Headers need no copy of their own here.
      const headers = header instanceof Headers ? header : new Headers(header);
      const outcome = await runner.run<UnaryResponse<I, O>>(
        {
          pool,
          rpcService,
          method,
          route: contextValues?.get(restRouteKey) ?? `/${rpcService}/${method.name}`,
          resendable: true,
          idempotencyKey: headers.has("idempotency-key"),
          timeoutMs,
          signal: signal ?? new AbortController().signal,
        },
        async ({ endpoint, signal: attemptSignal, timeoutMs: attemptMs, traceContext }) => {
          try {
            const response = await transportOf(endpoint.upstream).unary(method, attemptSignal, attemptMs, attemptHeaders(pool.service, headers, traceContext), input);
            return { code: undefined, reached: true, value: response };
          } catch (err) {
            return outcomeOfError(err);
          }
        },
      );
      if (outcome.value instanceof ConnectError) throw outcome.value;
      return outcome.value as UnaryResponse<I, O>;
    },
    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodServerStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      const outcome = await runner.run<StreamResponse<I, O>>(
        {
          pool,
          rpcService,
          method,
          route: contextValues?.get(restRouteKey) ?? `/${rpcService}/${method.name}`,
          resendable: false,
          idempotencyKey: false,
          timeoutMs,
          signal: signal ?? new AbortController().signal,
          streaming: true,
        },
        async ({ endpoint, signal: attemptSignal, timeoutMs: attemptMs, traceContext }) => {
          try {
            const response = await transportOf(endpoint.upstream).stream(method, attemptSignal, attemptMs, attemptHeaders(pool.service, header, traceContext), input);
            return { code: undefined, reached: true, value: response };
          } catch (err) {
            return outcomeOfError(err);
          }
        },
      );
      if (outcome.value instanceof ConnectError) throw outcome.value;
      return outcome.value as StreamResponse<I, O>;
    },
  }) as Transport;
}
