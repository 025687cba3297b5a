/**
 * Round-robin: the candidate at `cursor`, wrapping around. The caller keeps the cursor (one per service) and
 * advances it by one per pick, so calls rotate over whatever candidates each call has.
 */
export function pickRoundRobin(count: number, cursor: number): number {
  if (count <= 0) throw new RangeError("no candidate to pick from");
  return ((cursor % count) + count) % count;
}
