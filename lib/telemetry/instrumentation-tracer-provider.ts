import { context, trace, type Context, type Span, type SpanOptions, type Tracer, type TracerProvider } from "@opentelemetry/api";
import { inUnsampledTrace } from "./unsampled-trace.ts";

/**
 * The tracer provider the http, pg and ioredis instrumentations get instead of the SDK's own, with two
 * shortcuts that leave their spans as the SDK would make them under the mesh's parent-based ratio sampler,
 * which decides by trace id and parent alone:
 * - under a parent that is not sampled, a span is the parent's context as a non-recording span, without the
 *   SDK's work before its sampler says no (a span id, attribute validation); what the instrumentation injects
 *   downstream still carries the trace and its not-sampled flag;
 * - a span that records gets the attributes it was started with once, after it starts: the SDK validates
 *   attributes given at the start twice (once for the sampler, once for the span), and allocates for each
 *   value it checks.
 */
export function createInstrumentationTracerProvider(provider: TracerProvider): TracerProvider {
  return {
    getTracer(name, version, options) {
      const tracer = provider.getTracer(name, version, options);
      function startSpan(spanName: string, spanOptions?: SpanOptions, ctx: Context = context.active()): Span {
        if (!spanOptions?.root && inUnsampledTrace(ctx)) return trace.wrapSpanContext(trace.getSpanContext(ctx)!);
        if (spanOptions?.attributes === undefined) return tracer.startSpan(spanName, spanOptions, ctx);
        const { attributes, ...rest } = spanOptions;
        const span = tracer.startSpan(spanName, rest, ctx);
        if (span.isRecording()) span.setAttributes(attributes);
        return span;
      }
      return {
        startSpan,
        startActiveSpan(spanName: string, ...args: unknown[]) {
          const fn = args.pop() as (span: Span) => unknown;
          const [spanOptions, ctx = context.active()] = args as [SpanOptions | undefined, Context | undefined];
          const span = startSpan(spanName, spanOptions, ctx);
          return context.with(trace.setSpan(ctx, span), fn, undefined, span);
        },
      } as Tracer;
    },
  };
}
