import { twoChoices } from "./least-request.ts";

/** A peak-EWMA latency estimate and when it was last updated. */
export interface EwmaEstimate {
  readonly valueMs: number;
  readonly atMs: number;
}

export interface EwmaLoad {
  readonly inFlight: number;
  readonly ewma: EwmaEstimate;
}

/** How fast an estimate forgets, as in Linkerd: after this long an old value weighs 1/e. */
export const defaultDecayMs = 10_000;

/**
 * The estimate of an instance no answer has come from yet: low, so a new instance gets calls and so a first
 * measurement, but above zero, so its cost still grows with every call put in flight on it.
 */
export function initialEwma(nowMs: number, valueMs = 1): EwmaEstimate {
  return { valueMs, atMs: nowMs };
}

/** The estimate decayed to `nowMs`: an instance that nobody calls drifts back towards zero and gets probed again. */
export function decayedMs(estimate: EwmaEstimate, nowMs: number, decayMs = defaultDecayMs): number {
  const elapsed = Math.max(0, nowMs - estimate.atMs);
  return estimate.valueMs * Math.exp(-elapsed / decayMs);
}

/**
 * Records one latency. A sample above the estimate replaces it at once (the "peak": a slow instance is
 * avoided immediately); a lower one is blended in by how long ago the estimate was last updated.
 */
export function observeLatency(estimate: EwmaEstimate, sampleMs: number, nowMs: number, decayMs = defaultDecayMs): EwmaEstimate {
  if (sampleMs >= estimate.valueMs) return { valueMs: sampleMs, atMs: nowMs };
  const elapsed = Math.max(0, nowMs - estimate.atMs);
  const weight = Math.exp(-elapsed / decayMs);
  return { valueMs: estimate.valueMs * weight + sampleMs * (1 - weight), atMs: nowMs };
}

/** What a call is expected to cost on an instance: its decayed latency estimate times its calls in flight plus one. */
export function peakEwmaCost(load: EwmaLoad, nowMs: number, decayMs = defaultDecayMs): number {
  return decayedMs(load.ewma, nowMs, decayMs) * (load.inFlight + 1);
}

/**
 * Peak-EWMA balancing (Linkerd's): of two random candidates, the one with the lower cost; a tie goes to the
 * first drawn.
 */
export function pickPeakEwma(candidates: readonly EwmaLoad[], nowMs: number, random: () => number, decayMs = defaultDecayMs): number {
  const [a, b] = twoChoices(candidates.length, random);
  return peakEwmaCost(candidates[b]!, nowMs, decayMs) < peakEwmaCost(candidates[a]!, nowMs, decayMs) ? b : a;
}
