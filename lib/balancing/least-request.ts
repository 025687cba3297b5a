/** What least-request balancing looks at: the calls an instance has in flight from this gateway. */
export interface RequestLoad {
  readonly inFlight: number;
}

/**
 * Two distinct indexes below `count` drawn with `random` (uniform in [0, 1)): the "power of two choices".
 * With one candidate both are 0.
 */
export function twoChoices(count: number, random: () => number): readonly [number, number] {
  if (count <= 0) throw new RangeError("no candidate to pick from");
  if (count === 1) return [0, 0];
  const a = Math.min(count - 1, Math.floor(random() * count));
  let b = Math.min(count - 2, Math.floor(random() * (count - 1)));
  if (b >= a) b++;
  return [a, b];
}

/**
 * Least-request with the power of two choices (as Envoy does): of two random candidates, the one with fewer
 * calls in flight; a tie goes to the first drawn. Comparing two instead of all keeps a burst of calls from
 * piling onto one instance whose in-flight count every gateway sees as lowest at the same moment.
 */
export function pickLeastRequest(candidates: readonly RequestLoad[], random: () => number): number {
  const [a, b] = twoChoices(candidates.length, random);
  return candidates[b]!.inFlight < candidates[a]!.inFlight ? b : a;
}
