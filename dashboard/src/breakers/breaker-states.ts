import { BreakerState, type InstanceBreaker } from "../../../gen/mesh/control/v1/breaker_pb.ts";
import type { Tone } from "../ui/status-badge.tsx";

/** From least to most severe: an instance shows the worst state any gateway reports for it. */
const severity: readonly BreakerState[] = [BreakerState.UNSPECIFIED, BreakerState.CLOSED, BreakerState.HALF_OPEN, BreakerState.OPEN, BreakerState.ISOLATED];

/** Each instance's worst breaker state across the gateways that report it. */
export function breakerStateByInstance(breakers: readonly InstanceBreaker[]): Map<string, BreakerState> {
  const out = new Map<string, BreakerState>();
  for (const b of breakers) {
    const current = out.get(b.instanceId);
    if (current === undefined || severity.indexOf(b.state) > severity.indexOf(current)) out.set(b.instanceId, b.state);
  }
  return out;
}

/** A breaker state as a badge: its words and tone. */
export function breakerBadge(state: BreakerState | undefined): { tone: Tone; label: string } {
  switch (state) {
    case BreakerState.CLOSED:
      return { tone: "ok", label: "breaker closed" };
    case BreakerState.HALF_OPEN:
      return { tone: "degraded", label: "breaker half-open" };
    case BreakerState.OPEN:
      return { tone: "failing", label: "breaker open" };
    case BreakerState.ISOLATED:
      return { tone: "failing", label: "isolated" };
    default:
      return { tone: "unknown", label: "breaker not reported" };
  }
}
