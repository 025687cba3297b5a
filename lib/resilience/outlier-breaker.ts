import { CircuitState, ConsecutiveBreaker, SamplingBreaker, type IBreaker } from "cockatiel";

export interface OutlierBreakerOptions {
  /** Failures in a row that open the breaker. */
  consecutiveFailures: number;
  /** Failure fraction over the window that opens it too; 0 disables the rule. */
  failureRateThreshold: number;
  samplingWindowMs: number;
  /** Calls in the window before the rate rule applies. */
  minimumRequests: number;
}

/** Opens when either breaker would: for each call both learn its outcome. */
function eitherBreaker(a: IBreaker, b: IBreaker): IBreaker {
  return {
    get state() {
      return [a.state, b.state];
    },
    set state(value: unknown) {
      const [sa, sb] = value as [unknown, unknown];
      a.state = sa;
      b.state = sb;
    },
    success(state) {
      a.success(state);
      b.success(state);
    },
    failure(state) {
      const first = a.failure(state);
      const second = b.failure(state);
      return first || second;
    },
  };
}

/**
 * The breaker strategy of one instance (outlier detection): cockatiel's ConsecutiveBreaker, and with a rate
 * threshold also its SamplingBreaker over the window, either of which opens the circuit.
 */
export function createOutlierBreaker(options: OutlierBreakerOptions): IBreaker {
  const consecutive = new ConsecutiveBreaker(Math.max(1, options.consecutiveFailures));
  if (!(options.failureRateThreshold > 0)) return consecutive;
  const sampling = new SamplingBreaker({
    // cockatiel wants (0, 1): a threshold of 1 ("every call failed") opens just below it.
    threshold: Math.min(options.failureRateThreshold, 0.999),
    duration: options.samplingWindowMs,
    minimumRps: Math.max(1, options.minimumRequests) / (options.samplingWindowMs / 1000),
  });
  return eitherBreaker(consecutive, sampling);
}

/**
 * Caps ejection: a closed breaker that its strategy would open stays closed while `mayOpen()` says too many
 * of the service's instances are ejected already, so calls always have somewhere to go (Envoy's
 * max_ejection_percent). It opens on a later failure once there is room. A half-open probe that fails
 * re-opens as usual: that instance was already counted as ejected.
 */
export function capEjection(inner: IBreaker, mayOpen: () => boolean): IBreaker {
  return {
    get state() {
      return inner.state;
    },
    set state(value: unknown) {
      inner.state = value;
    },
    success: (state) => inner.success(state),
    failure: (state) => inner.failure(state) && (state !== CircuitState.Closed || mayOpen()),
  };
}
