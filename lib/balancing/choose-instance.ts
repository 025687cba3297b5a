import { pickLeastRequest } from "./least-request.ts";
import { pickPeakEwma, type EwmaLoad } from "./peak-ewma.ts";
import { pickRoundRobin } from "./round-robin.ts";

export type BalancingAlgorithm = "round_robin" | "least_request" | "peak_ewma";

export interface ChooseInput {
  readonly algorithm: BalancingAlgorithm;
  /** The instances a call may go to now, in a stable order (by id). */
  readonly candidates: readonly EwmaLoad[];
  /** The service's round-robin position. */
  readonly cursor: number;
  readonly nowMs: number;
  /** Uniform in [0, 1). */
  readonly random: () => number;
}

/** The index of the candidate a call goes to: a pure function of the candidates' state and the inputs. */
export function chooseInstance(input: ChooseInput): number {
  const { candidates } = input;
  switch (input.algorithm) {
    case "round_robin":
      return pickRoundRobin(candidates.length, input.cursor);
    case "least_request":
      return pickLeastRequest(candidates, input.random);
    case "peak_ewma":
      return pickPeakEwma(candidates, input.nowMs, input.random);
  }
}
