import { describe, expect, it } from "vitest";
import { ServingState } from "../../../../gen/mesh/control/v1/registry_pb.ts";
import { nextVerdict, type ProbeResult } from "./serving-verdict.ts";

const { UNSPECIFIED, SERVING, NOT_SERVING } = ServingState;
const thresholds = { healthy: 2, unhealthy: 3 };

function run(start: ServingState, results: ProbeResult[]): ServingState[] {
  let history = { state: start, successes: 0, failures: 0 };
  return results.map((r) => (history = nextVerdict(history, r, thresholds)).state);
}

describe("nextVerdict", () => {
  it.each<[string, ServingState, ProbeResult[], ServingState[]]>([
    ["a new instance serves after one success", UNSPECIFIED, ["serving"], [SERVING]],
    ["one blip does not take a serving instance out", SERVING, ["unreachable", "serving", "unreachable", "unreachable"], [SERVING, SERVING, SERVING, SERVING]],
    ["three failures in a row do", SERVING, ["unreachable", "unreachable", "unreachable"], [SERVING, SERVING, NOT_SERVING]],
    ["an explicit NOT_SERVING takes it out at once", SERVING, ["not_serving"], [NOT_SERVING]],
    ["coming back needs two successes in a row", NOT_SERVING, ["serving", "unreachable", "serving", "serving"], [NOT_SERVING, NOT_SERVING, NOT_SERVING, SERVING]],
    ["a new instance that never answers is taken out after three failures", UNSPECIFIED, ["unreachable", "unreachable", "unreachable"], [UNSPECIFIED, UNSPECIFIED, NOT_SERVING]],
  ])("%s", (_name, start, results, expected) => {
    expect(run(start, results)).toEqual(expected);
  });
});
