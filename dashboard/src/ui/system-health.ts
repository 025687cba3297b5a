import { SystemHealth } from "../../../gen/mesh/control/v1/overview_pb.ts";
import type { Badge } from "./status-badge.tsx";

/** A SystemHealth as a badge's tone and label. */
export function systemHealthBadge(health: SystemHealth): Badge {
  switch (health) {
    case SystemHealth.HEALTHY:
      return { tone: "ok", label: "healthy" };
    case SystemHealth.DEGRADED:
      return { tone: "degraded", label: "degraded" };
    case SystemHealth.UNHEALTHY:
      return { tone: "failing", label: "unhealthy" };
    default:
      return { tone: "unknown", label: "unknown" };
  }
}
