import { context } from "@opentelemetry/api";
import type { Instrumentation } from "@opentelemetry/instrumentation";
import { inUnsampledTrace } from "./unsampled-trace.ts";

// A mixin's constructor must take `any[]` (TS2545).
type InstrumentationClass = new (...args: any[]) => Instrumentation;
type Method = (this: unknown, ...args: unknown[]) => unknown;
/** InstrumentationBase's protected `_wrap`: replaces `nodule[name]` with what `wrapper` makes of it. */
type Wrap = (nodule: object, name: PropertyKey, wrapper: (original: unknown, name: PropertyKey) => unknown) => unknown;

/** `traced`, except that calls made in a trace that is not sampled go to `original` untouched. */
function untracedWhenUnsampled(original: unknown, traced: unknown): unknown {
  if (typeof original !== "function" || typeof traced !== "function") return traced;
  return function (this: unknown) {
    return (inUnsampledTrace(context.active()) ? (original as Method) : (traced as Method)).apply(this, arguments as unknown as unknown[]);
  };
}

/**
 * `Base`, an instrumentation whose patched methods are skipped in a trace that is not sampled: such a call
 * runs the library's own method, as with tracing off, instead of the instrumentation's wrapper, which would
 * build attributes, the query text, callbacks bound to the context and a span that records nothing. For pg and
 * ioredis, which inject no trace context, that is all they do there; at a 0.1 ratio it is 9 calls in 10.
 * Calls outside any span still reach the wrapper, which applies its own `requireParentSpan`.
 *
 * The instrumentation patches through `_wrap`, its base class's hook for that; each method is wrapped as before,
 * so unpatching restores the library's method.
 */
export function skipUnsampledCalls<T extends InstrumentationClass>(Base: T): T {
  return class extends Base {
    constructor(...args: any[]) {
      super(...args);
      const self = this as unknown as { _wrap: Wrap };
      const wrap = self._wrap;
      self._wrap = (nodule, name, wrapper) => wrap(nodule, name, (original, fieldName) => untracedWhenUnsampled(original, wrapper(original, fieldName)));
    }
  };
}
