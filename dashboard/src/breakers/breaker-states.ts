import { BreakerState, type InstanceBreaker } from "../../../gen/mesh/control/v1/breaker_pb.ts";
import type { Badge } from "../ui/status-badge.tsx";

/** From least to most severe: an instance shows the worst state any gateway reports for it. */
const severity: readonly BreakerState[] = [BreakerState.UNSPECIFIED, BreakerState.CLOSED, BreakerState.HALF_OPEN, BreakerState.OPEN, BreakerState.ISOLATED];

const worse = (a: BreakerState, b: BreakerState) => (severity.indexOf(b) > severity.indexOf(a) ? b : a);

/** The most severe state among `breakers` (UNSPECIFIED when there are none). */
export function worstBreakerState(breakers: readonly InstanceBreaker[]): BreakerState {
  return breakers.reduce<BreakerState>((worst, b) => worse(worst, b.state), BreakerState.UNSPECIFIED);
}

/** Each instance's worst breaker state across the gateways that report it. */
export function breakerStateByInstance(breakers: readonly InstanceBreaker[]): Map<string, BreakerState> {
  const out = new Map<string, BreakerState>();
  for (const b of breakers) out.set(b.instanceId, worse(out.get(b.instanceId) ?? BreakerState.UNSPECIFIED, b.state));
  return out;
}

/** A breaker state as a badge: its words and tone. */
export function breakerBadge(state: BreakerState | undefined): Badge {
  switch (state) {
    case BreakerState.CLOSED:
      return { tone: "ok", label: "breaker closed" };
    case BreakerState.HALF_OPEN:
      return { tone: "degraded", label: "breaker half-open" };
    case BreakerState.OPEN:
      return { tone: "failing", label: "breaker open" };
    case BreakerState.ISOLATED:
      return { tone: "failing", label: "breaker isolated" };
    default:
      return { tone: "unknown", label: "breaker not reported" };
  }
}
