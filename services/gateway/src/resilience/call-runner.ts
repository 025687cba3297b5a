import type { DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { SpanKind, SpanStatusCode, context, trace, type Context, type Span } from "@opentelemetry/api";
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  ExponentialBackoff,
  IsolatedCircuitError,
  TimeoutStrategy,
  fullJitterGenerator,
  handleWhenResult,
  retry,
  timeout,
  type RetryPolicy,
  type TimeoutPolicy,
} from "cockatiel";
import type { Endpoint } from "../upstreams/endpoint.ts";
import type { MethodSettings } from "../upstreams/resolve-policy.ts";
import type { UpstreamPool } from "../upstreams/upstream-pool.ts";
import { isInstanceFailure, markNotReached, outcomeOfError, type AttemptOutcome, type JudgedOutcome } from "./attempt-outcome.ts";
import { codeLabel, type GatewayMetrics } from "./gateway-metrics.ts";
import { runWithDeadline } from "./run-with-deadline.ts";

/** One call as the runner sees it. */
export interface CallSpec {
  readonly pool: UpstreamPool;
  /** The RPC service's fully-qualified name. */
  readonly rpcService: string;
  readonly method: DescMethod;
  /** Metrics label: the REST route template, or the RPC's path. */
  readonly route: string;
  /** The whole request is held, so it can be sent again (unary calls). Streams are sent once. */
  readonly resendable: boolean;
  /** The caller sent an Idempotency-Key: repeating the call is safe whatever the method. */
  readonly idempotencyKey: boolean;
  /** The deadline the caller asked for, in ms. */
  readonly timeoutMs: number | undefined;
  /** The caller going away. */
  readonly signal: AbortSignal;
  /** Streams get no request timeout from the policy (watches stay open), only the caller's deadline. */
  readonly streaming?: boolean;
}

export interface AttemptContext {
  readonly endpoint: Endpoint;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly signal: AbortSignal;
  /** What this attempt may take, within the call's deadline: the deadline to send upstream. */
  readonly timeoutMs: number | undefined;
  /** The attempt's client span, for the traceparent sent upstream. */
  readonly traceContext: Context;
}

/** Sends the call to `ctx.endpoint` once. Reports upstream failures in the outcome instead of throwing. */
export type AttemptFn<T> = (ctx: AttemptContext) => Promise<AttemptOutcome<T | ConnectError>>;

export interface CallRunner {
  /**
   * Runs a call through the service's resilience layers, the caller's AbortSignal running through all of
   * them: the call's deadline (runWithDeadline) → cockatiel's retries with exponential backoff and full
   * jitter, each on an instance not tried yet, within the retry budget → per instance: balancer pick,
   * cockatiel's bulkhead and circuit breaker → the attempt's own timeout → the attempt. Resolves with the
   * outcome for the caller; never rejects.
   */
  run<T>(spec: CallSpec, attempt: AttemptFn<T>): Promise<AttemptOutcome<T | ConnectError>>;
}

export interface CallRunnerOptions {
  metrics: GatewayMetrics;
  /** @default performance.now */
  now?: () => number;
}

const tracer = trace.getTracer("connect-mesh");

export function isIdempotent(method: DescMethod): boolean {
  return method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS || method.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT;
}

/**
 * The deadline sent upstream for an attempt of `attemptMs`: a little less (5 %, at most 10 ms), so that the
 * instance ends the call itself with DEADLINE_EXCEEDED just before the gateway would cancel it.
 */
export function upstreamDeadline(attemptMs: number | undefined): number | undefined {
  if (attemptMs === undefined) return undefined;
  return Math.max(1, attemptMs - Math.min(10, Math.floor(attemptMs / 20)));
}

/** Sampled latency of a failed attempt for peak-EWMA: at least a second, so a fast-failing instance does not look fast. */
const failurePenaltyMs = 1000;

/** An outcome for a layer that threw before or around the attempt (breaker, bulkhead). */
function thrownOutcome(err: unknown): AttemptOutcome<ConnectError> {
  if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError) {
    return { code: Code.Unavailable, reached: false, value: markNotReached(new ConnectError("the instance's circuit breaker is open", Code.Unavailable)) };
  }
  if (err instanceof BulkheadRejectedError) {
    return { code: Code.ResourceExhausted, reached: false, value: markNotReached(new ConnectError("the instance has too many calls in flight; retry later", Code.ResourceExhausted)) };
  }
  return outcomeOfError(err);
}

export function createCallRunner(options: CallRunnerOptions): CallRunner {
  const { metrics } = options;
  const now = options.now ?? performance.now.bind(performance);
  const retryPolicies = new WeakMap<MethodSettings, RetryPolicy>();
  // `<rpc service>/<method>`, the key of policies and a metrics label: the same string each call.
  const methodNames = new WeakMap<DescMethod, string>();
  const attemptTimeouts = new WeakMap<MethodSettings, TimeoutPolicy>();

  /**
   * The timeout of an attempt shorter than the call's remaining deadline: the method's own attempt timeout is
   * built once per policy change, other lengths per call. Cooperative (the attempt ends itself when its signal
   * aborts) and never aborted on return: nothing listens once an attempt has returned (a unary answer is
   * complete; a REST server stream, read after its attempt returns, must go on), and each abort would build a
   * DOMException.
   */
  function attemptTimeoutFor(settings: MethodSettings, ms: number): TimeoutPolicy {
    const options = { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false };
    if (ms !== settings.attemptTimeoutMs) return timeout(ms, options);
    let policy = attemptTimeouts.get(settings);
    if (!policy) {
      policy = timeout(settings.attemptTimeoutMs, options);
      attemptTimeouts.set(settings, policy);
    }
    return policy;
  }

  function retryPolicyFor(settings: MethodSettings): RetryPolicy {
    let policy = retryPolicies.get(settings);
    if (!policy) {
      policy = retry(handleWhenResult((result) => (result as JudgedOutcome<unknown>).retry), {
        maxAttempts: Math.max(0, settings.maxAttempts - 1),
        backoff: new ExponentialBackoff({ initialDelay: settings.initialBackoffMs, maxDelay: settings.maxBackoffMs, generator: fullJitterGenerator }),
      });
      retryPolicies.set(settings, policy);
    }
    return policy;
  }

  return {
    async run<T>(spec: CallSpec, attempt: AttemptFn<T>): Promise<AttemptOutcome<T | ConnectError>> {
      const { pool, method } = spec;
      let methodName = spec.rpcService === method.parent.typeName ? methodNames.get(method) : undefined;
      if (methodName === undefined) {
        methodName = `${spec.rpcService}/${method.name}`;
        if (spec.rpcService === method.parent.typeName) methodNames.set(method, methodName);
      }
      const settings = pool.policy.method(methodName);
      const balancing = pool.policy.balancing;
      const started = now();
      const deadlineMs = spec.streaming ? spec.timeoutMs : Math.min(spec.timeoutMs ?? Infinity, settings.requestTimeoutMs);
      const deadlineAt = deadlineMs === undefined ? undefined : started + deadlineMs;
      const safe = isIdempotent(method) || spec.idempotencyKey;
      const parentSpan = trace.getActiveSpan();
      const parentContext = context.active();
      const tried = new Set<Endpoint>();
      let previous: { instance: string; code: Code | undefined } | undefined;
      pool.budget.deposit();

      const judge = (
        outcome: AttemptOutcome<T | ConnectError>,
        attemptTimedOut: boolean,
        callSignal: AbortSignal,
      ): { code: Code | undefined; failure: boolean; outcome: AttemptOutcome<T | ConnectError> } => {
        if (callSignal.aborted) {
          // The caller left or the call's deadline passed: not the instance's fault.
          const code = spec.signal.aborted ? Code.Canceled : Code.DeadlineExceeded;
          return { code, failure: false, outcome: { ...outcome, code } };
        }
        if (attemptTimedOut) {
          const value = new ConnectError("the attempt ran past its deadline", Code.DeadlineExceeded);
          return { code: Code.DeadlineExceeded, failure: true, outcome: { code: Code.DeadlineExceeded, reached: true, value } };
        }
        return { code: outcome.code, failure: isInstanceFailure(outcome.code), outcome };
      };

      const shouldRetry = (n: number, outcome: AttemptOutcome<unknown>, attemptTimedOut: boolean, callSignal: AbortSignal): boolean => {
        if (callSignal.aborted || !spec.resendable) return false;
        const code = outcome.code;
        const retryableCode = code === Code.Unavailable || code === Code.ResourceExhausted || (code === Code.DeadlineExceeded && attemptTimedOut);
        if (!retryableCode || (!safe && outcome.reached)) return false;
        if (n >= settings.maxAttempts) return false;
        if (deadlineAt !== undefined && deadlineAt - now() <= 1) return false;
        if (!pool.canPick(spec.rpcService, tried)) return false;
        if (!pool.budget.withdraw()) {
          metrics.budgetExhausted(pool.service, methodName);
          parentSpan?.addEvent("retry_budget_exhausted", { "mesh.attempt": n });
          return false;
        }
        return true;
      };

      const one = async ({ attempt: retries, signal }: { attempt: number; signal: AbortSignal }): Promise<JudgedOutcome<T | ConnectError>> => {
        const n = retries + 1;
        if (signal.aborted) {
          const code = spec.signal.aborted ? Code.Canceled : Code.DeadlineExceeded;
          return { code, reached: false, value: new ConnectError("the call ended before its next attempt", code), failure: false, retry: false };
        }
        const endpoint = pool.pick(spec.rpcService, tried);
        if (!endpoint) {
          const value = markNotReached(new ConnectError(`no instance of ${spec.rpcService} is available`, Code.Unavailable));
          return { code: Code.Unavailable, reached: false, value, failure: false, retry: false };
        }
        tried.add(endpoint);
        metrics.pick(pool.service, endpoint.id, balancing);
        if (n > 1) {
          metrics.retry(spec.route, methodName, codeLabel(previous?.code));
          endpoint.stats.recordRetry();
          parentSpan?.addEvent("retry", {
            "mesh.attempt": n,
            "mesh.previous_instance.id": previous?.instance ?? "",
            "mesh.previous_code": codeLabel(previous?.code),
          });
        }
        const remaining = deadlineAt === undefined ? undefined : Math.max(1, Math.ceil(deadlineAt - now()));
        const attemptMs = spec.streaming ? remaining : Math.min(settings.attemptTimeoutMs, remaining ?? Infinity);
        // The attempt's own budget ran out, not the call's: only then is DeadlineExceeded worth a retry.
        const attemptShorter = attemptMs !== undefined && (remaining === undefined || attemptMs < remaining);
        const span = startAttemptSpan(parentContext, methodName, spec, endpoint, n, balancing);
        // A span that records nothing (no SDK, or not sampled) carries the caller's trace as the caller's
        // context does, and that context is active already: the attempt then takes it as it is, without a copy
        // of the context for its traceparent or an AsyncLocalStorage frame to enter it.
        const recording = span.isRecording();
        const spanContext = recording ? trace.setSpan(parentContext, span) : parentContext;
        const attemptStarted = now();
        let attemptTimedOut = false;
        let judged: { code: Code | undefined; failure: boolean; outcome: AttemptOutcome<T | ConnectError> };
        endpoint.callStarted();
        try {
          const send = async ({ signal: attemptSignal }: { signal: AbortSignal }): Promise<ReturnType<typeof judge>> => {
            let outcome: AttemptOutcome<T | ConnectError>;
            try {
              outcome = await attempt({ endpoint, attempt: n, signal: attemptSignal, timeoutMs: upstreamDeadline(attemptMs), traceContext: spanContext });
            } catch (err) {
              outcome = outcomeOfError(err);
            }
            attemptTimedOut = (attemptSignal.aborted && !signal.aborted) || (outcome.code === Code.DeadlineExceeded && attemptShorter);
            // The breaker's result filter reads `failure`.
            return judge(outcome, attemptTimedOut, signal);
          };
          // An attempt as long as the call's remaining deadline needs no timer of its own: the call's covers it.
          const execute = () =>
            endpoint.policy.execute(
              attemptShorter ? ({ signal: s }) => attemptTimeoutFor(settings, attemptMs).execute(send, s) : send,
              signal,
            );
          judged = recording ? await context.with(spanContext, execute) : await execute();
        } catch (err) {
          const outcome = thrownOutcome(err);
          judged = { code: outcome.code, failure: false, outcome };
        }
        const elapsed = now() - attemptStarted;
        const answered = judged.outcome.reached && judged.code !== Code.Canceled;
        endpoint.callEnded(answered ? (judged.failure ? Math.max(elapsed, failurePenaltyMs) : elapsed) : undefined, judged.failure);
        metrics.attempt(spec.route, methodName, endpoint.id, judged.code, elapsed / 1000);
        endAttemptSpan(span, judged.code, judged.outcome, endpoint);
        previous = { instance: endpoint.id, code: judged.code };
        const again = shouldRetry(n, judged.outcome, attemptTimedOut, signal);
        return { ...judged.outcome, code: judged.code, failure: judged.failure, retry: again };
      };

      let final: AttemptOutcome<T | ConnectError>;
      try {
        const retrying = retryPolicyFor(settings);
        const attempts = (signal: AbortSignal) => retrying.execute(one, signal);
        final = await (deadlineMs === undefined ? attempts(spec.signal) : runWithDeadline(deadlineMs, spec.signal, attempts));
      } catch (err) {
        const code = spec.signal.aborted ? Code.Canceled : Code.DeadlineExceeded;
        const message = code === Code.Canceled ? "the caller cancelled the call" : "the call ran past its deadline";
        final = { code, reached: true, value: new ConnectError(message, code, undefined, undefined, err) };
      }
      metrics.request(spec.route, methodName, final.code, (now() - started) / 1000);
      return { code: final.code, reached: final.reached, value: final.value };
    },
  };
}

function startAttemptSpan(parent: Context, name: string, spec: CallSpec, endpoint: Endpoint, n: number, balancing: string): Span {
  return tracer.startSpan(
    name,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "rpc.system": "grpc",
        "rpc.service": spec.rpcService,
        "rpc.method": spec.method.name,
        "mesh.attempt": n,
        "mesh.instance.id": endpoint.id,
        "mesh.lb.policy": balancing,
        "mesh.breaker.state": endpoint.breakerState,
        "server.address": endpoint.info.address,
      },
    },
    parent,
  );
}

function endAttemptSpan(span: Span, code: Code | undefined, outcome: AttemptOutcome<unknown>, endpoint: Endpoint): void {
  span.setAttribute("rpc.grpc.status_code", code ?? 0);
  span.setAttribute("mesh.breaker.state_after", endpoint.breakerState);
  if (!outcome.reached) span.setAttribute("mesh.upstream.reached", false);
  if (code !== undefined) {
    const error = outcome.value instanceof ConnectError ? outcome.value : undefined;
    if (error) span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error?.rawMessage ?? codeLabel(code) });
  }
  span.end();
}
