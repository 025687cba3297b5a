import { durationMs } from "@bufbuild/protobuf/wkt";
import type { Fault } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { faultApplies, type FaultRegistry } from "./fault-registry.ts";
import { delay } from "../../../../lib/async/pause.ts";

export type Dependency = "database" | "cache";

/** What an injected dependency failure throws: shaped like a refused connection, so it is handled like one. */
export class DependencyFaultError extends Error {
  override readonly name = "DependencyFaultError";
  /** The network code pg and ioredis report for a refused connection; the error mapping reads it. */
  readonly code = "ECONNREFUSED";
  readonly dependency: Dependency;
  readonly faultId: string;

  constructor(dependency: Dependency, faultId: string) {
    super(`${dependency} unreachable (fault ${faultId} injected)`);
    this.dependency = dependency;
    this.faultId = faultId;
  }
}

export interface DependencyFaultGateOptions {
  /** A number in [0, 1). @default Math.random */
  random?: () => number;
  /** Waits `ms` or rejects with the signal's reason. @default a timer */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called for every effect the gate applies, for metrics. */
  onEffect?: (dependency: Dependency, effect: "failure" | "latency") => void;
}

export interface DependencyFaultGate {
  /**
   * Consulted before each PostgreSQL statement and each Valkey command. Applies the active `database` or
   * `cache` faults that select `procedure` (`package.Service/Method`; undefined for background work, which
   * only faults without a method filter reach): first their added latency, then a draw against their
   * failure rate, throwing DependencyFaultError on a hit. Returns undefined, at no cost, when none is active.
   */
  pass(dependency: Dependency, procedure: string | undefined, signal: AbortSignal): Promise<void> | undefined;
}

function selects(fault: Fault, dependency: Dependency, procedure: string | undefined): boolean {
  if (fault.spec.case !== dependency) return false;
  if (procedure === undefined) return fault.methods.length === 0;
  return faultApplies(fault.methods, procedure);
}

/** The data layer's view of the fault registry: `database` and `cache` faults act where the calls are made. */
export function createDependencyFaultGate(faults: Pick<FaultRegistry, "list">, options: DependencyFaultGateOptions = {}): DependencyFaultGate {
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? delay;

  async function apply(active: Fault[], dependency: Dependency, signal: AbortSignal): Promise<void> {
    let delay = 0;
    for (const fault of active) {
      if (fault.spec.case !== "database" && fault.spec.case !== "cache") continue;
      if (fault.spec.value.addedLatency !== undefined) delay += durationMs(fault.spec.value.addedLatency);
    }
    if (delay > 0) {
      options.onEffect?.(dependency, "latency");
      await sleep(delay, signal);
    }
    for (const fault of active) {
      if (fault.spec.case !== "database" && fault.spec.case !== "cache") continue;
      const rate = fault.spec.value.failureRate;
      if (rate > 0 && random() < rate) {
        options.onEffect?.(dependency, "failure");
        throw new DependencyFaultError(dependency, fault.id);
      }
    }
  }

  return {
    pass(dependency, procedure, signal) {
      const all = faults.list();
      if (all.length === 0) return undefined;
      const active = all.filter((fault) => selects(fault, dependency, procedure));
      if (active.length === 0) return undefined;
      return apply(active, dependency, signal);
    },
  };
}
