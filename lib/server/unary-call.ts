import { create, type DescMessage, type DescMethodUnary, type MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextKey,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";

/** A unary method and its implementation, as connect-es's router keeps them. */
export type UnarySpec = MethodImplSpec & { kind: "unary"; method: DescMethodUnary };

/** The handler context of one unary call on a fast path, with the two ways it ends. */
export interface UnaryCall extends HandlerContext {
  /** Aborts the call's signal with `reason` (the client went away). */
  cancel(reason: ConnectError): void;
  /**
   * Ends the call: clears its deadline timer and aborts its signal, as connect-es does, so that whatever a
   * handler tied to the signal (joined lookups, merged signals) is released.
   */
  finish(): void;
}

export interface UnaryCallInit {
  spec: UnarySpec;
  protocolName: string;
  url: string;
  /** The caller's timeout; undefined without one. */
  timeoutMs: number | undefined;
  requestHeader: Headers;
  responseHeader: Headers;
  responseTrailer: Headers;
}

// A reason for aborting a finished call's signal: made once, as aborting without one builds a DOMException.
export const callFinished = new ConnectError("the call has finished", Code.Canceled);

/**
 * The handler context connect-es's createHandlerContext makes, for one POST, with one AbortController where
 * connect-es links three (request, deadline, call) and copies its init twice.
 */
/** The longest delay setTimeout honours. */
const maxTimerMs = 2 ** 31 - 1;

export function createUnaryCall(init: UnaryCallInit): UnaryCall {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timeoutMs: () => number | undefined = noTimeout;
  if (init.timeoutMs !== undefined) {
    const deadline = Date.now() + init.timeoutMs;
    timeoutMs = () => deadline - Date.now();
    const expire = () => controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    if (init.timeoutMs <= 0) expire();
    // Beyond setTimeout's range (about 24.8 days) a timer would fire at once: such a deadline never comes.
    else if (init.timeoutMs <= maxTimerMs) timer = setTimeout(expire, init.timeoutMs);
  }
  return {
    method: init.spec.method,
    service: init.spec.method.parent,
    requestMethod: "POST",
    protocolName: init.protocolName,
    url: init.url,
    signal: controller.signal,
    timeoutMs,
    requestHeader: init.requestHeader,
    responseHeader: init.responseHeader,
    responseTrailer: init.responseTrailer,
    values: new CallValues(),
    cancel(reason) {
      controller.abort(reason);
    },
    finish() {
      clearTimeout(timer);
      controller.abort(callFinished);
    },
  };
}

const noTimeout = () => undefined;

/** connect-es's createContextValues, with its methods on a prototype rather than made for each call. */
class CallValues implements ContextValues {
  get<T>(key: ContextKey<T>): T {
    return key.id in this ? (this as unknown as Record<symbol, T>)[key.id]! : key.defaultValue;
  }
  set<T>(key: ContextKey<T>, value: T): this {
    (this as unknown as Record<symbol, T>)[key.id] = value;
    return this;
  }
  delete(key: ContextKey<unknown>): this {
    delete (this as unknown as Record<symbol, unknown>)[key.id];
    return this;
  }
}

/** The call a request belongs to, for the innermost step of the chain; interceptors copy it with the request. */
const callKey = Symbol("mesh.unary-call");
type CallRequest = UnaryRequest<DescMessage, DescMessage> & { [callKey]?: UnaryCall };

/** Runs one unary call through the interceptors and the implementation; resolves with the output message. */
export type UnaryInvoker = (call: UnaryCall, input: MessageShape<DescMessage>) => Promise<MessageShape<DescMessage>>;

/**
 * connect-es's invokeUnaryImplementation, with the interceptor chain composed once per method instead of on
 * every call. Interceptors see the same requests and responses: the request's header, signal and context
 * values are the call's own, and the response's header and trailer are the call's response headers.
 * Interceptors that replace the request must spread it (`{ ...req, message }`), as connect-es's do.
 */
export function createUnaryInvoker(spec: UnarySpec, interceptors: readonly Interceptor[]): UnaryInvoker {
  const { method } = spec;
  const service = method.parent;
  const implementation = async (req: CallRequest): Promise<UnaryResponse<DescMessage, DescMessage>> => {
    const call = req[callKey];
    if (call === undefined) throw new ConnectError("an interceptor replaced the request without copying it", Code.Internal);
    const sameContext = req.header === call.requestHeader && req.signal === call.signal && req.contextValues === call.values && req.service === service;
    const context: HandlerContext = sameContext
      ? call
      : { ...call, service: req.service, requestHeader: req.header, signal: req.signal, values: req.contextValues };
    const output = await spec.impl(req.message as never, context);
    return { stream: false, message: create(method.output, output), method, service, header: call.responseHeader, trailer: call.responseTrailer };
  };
  let next = implementation as (req: UnaryRequest<DescMessage, DescMessage>) => Promise<UnaryResponse<DescMessage, DescMessage>>;
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next as never) as typeof next;
  return async (call, input) => {
    const req: CallRequest = {
      stream: false,
      message: input,
      method,
      service,
      requestMethod: call.requestMethod,
      url: call.url,
      signal: call.signal,
      header: call.requestHeader,
      contextValues: call.values,
      [callKey]: call,
    };
    const res = await next(req);
    copyHeaders(res.header, call.responseHeader);
    copyHeaders(res.trailer, call.responseTrailer);
    return res.message;
  };
}

/** As connect-es: an interceptor that answered with headers of its own has them replace the call's. */
function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  for (const key of [...to.keys()]) to.delete(key);
  from.forEach((value, key) => to.set(key, value));
}
