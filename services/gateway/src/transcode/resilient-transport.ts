import type { DescMessage, DescMethodServerStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError, createContextKey, type ContextValues, type StreamResponse, type Transport, type UnaryResponse } from "@connectrpc/connect";
import { propagation, type TextMapSetter } from "@opentelemetry/api";
import { outcomeOfError, type AttemptOutcome } from "../resilience/attempt-outcome.ts";
import type { CallRunner } from "../resilience/call-runner.ts";
import type { Upstream } from "../upstream.ts";
import type { UpstreamPool } from "../upstreams/upstream-pool.ts";
import { headerRecord } from "./headers.ts";
import { createUpstreamTransport, type UpstreamProtocol } from "./upstream-transport.ts";

/** The REST route template of a call, for the gateway's metrics (set by the transcoder). */
export const restRouteKey = createContextKey<string | undefined>(undefined, { description: "REST route template" });

type HeadersInit = Parameters<Transport["unary"]>[3];

const headerSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/** The outcome of an attempt that got an answer. */
function answered<T>(value: T): AttemptOutcome<T> {
  return { code: undefined, reached: true, value };
}

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
  /** Each attempt's own copy of the call's headers, with the attempt's traceparent and the service credential. */
  const attemptHeaders = (service: string, header: Readonly<Record<string, string>>, traceContext: Parameters<typeof propagation.inject>[0]) => {
    const headers = { ...header };
    propagation.inject(traceContext, headers, headerSetter);
    Object.assign(headers, options.upstreamHeaders(service));
    return headers;
  };

  const resilientTransport = (pool: UpstreamPool, rpcService: string) => ({
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      // Each attempt copies these (attemptHeaders), so the caller's record needs no copy of its own here.
      const headers = headerRecord(header);
      const outcome = await runner.run<UnaryResponse<I, O>>(
        {
          pool,
          rpcService,
          method,
          route: contextValues?.get(restRouteKey) ?? `/${rpcService}/${method.name}`,
          resendable: true,
          idempotencyKey: headers["idempotency-key"] !== undefined,
          timeoutMs,
          signal: signal ?? new AbortController().signal,
        },
        // The runner catches what the call throws before it returns a promise.
        ({ endpoint, signal: attemptSignal, timeoutMs: attemptMs, traceContext }) =>
          transportOf(endpoint.upstream)
            .unary(method, attemptSignal, attemptMs, attemptHeaders(pool.service, headers, traceContext), input)
            .then(answered, outcomeOfError),
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
      const headers = headerRecord(header);
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
            const response = await transportOf(endpoint.upstream).stream(method, attemptSignal, attemptMs, attemptHeaders(pool.service, headers, traceContext), input);
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

  const transportsOf = new WeakMap<UpstreamPool, Map<string, Transport>>();
  // One transport per pool and RPC service, made on first use: the REST side asks for one per request.
  return (pool, rpcService) => {
    let byService = transportsOf.get(pool);
    if (!byService) transportsOf.set(pool, (byService = new Map()));
    let transport = byService.get(rpcService);
    if (!transport) byService.set(rpcService, (transport = resilientTransport(pool, rpcService)));
    return transport;
  };
}
