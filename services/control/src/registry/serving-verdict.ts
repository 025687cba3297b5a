import { ServingState } from "../../../../gen/mesh/control/v1/registry_pb.ts";

/** What one health check of an instance found. */
export type ProbeResult = "serving" | "not_serving" | "unreachable";

export interface Thresholds {
  /** Successes in a row that bring a NOT_SERVING instance back. */
  healthy: number;
  /** Failures in a row that take a SERVING instance out. */
  unhealthy: number;
}

export interface ProbeHistory {
  state: ServingState;
  successes: number;
  failures: number;
}

/**
 * The next state of an instance after one probe, so that one blip does not flap:
 * - an explicit NOT_SERVING answer (the instance is draining or a dependency is down) takes it out at once;
 * - failing to reach it takes it out only after `unhealthy` failures in a row;
 * - a new instance serves after its first success; one that was taken out needs `healthy` successes in a row.
 */
export function nextVerdict(history: ProbeHistory, result: ProbeResult, thresholds: Thresholds): ProbeHistory {
  const successes = result === "serving" ? history.successes + 1 : 0;
  const failures = result === "serving" ? 0 : history.failures + 1;
  let state = history.state;
  if (result === "not_serving") state = ServingState.NOT_SERVING;
  else if (result === "unreachable") {
    if (failures >= thresholds.unhealthy) {
      state = ServingState.NOT_SERVING;
    }
  } else if (state === ServingState.UNSPECIFIED || successes >= thresholds.healthy) {
    state = ServingState.SERVING;
  }
  return { state, successes, failures };
}
