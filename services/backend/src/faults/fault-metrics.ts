import { Counter, Gauge, type Registry } from "prom-client";
import { FaultKindSchema, type FaultKind } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import type { Dependency } from "./dependency-fault-gate.ts";
import type { FaultRegistry } from "./fault-registry.ts";

export interface FaultMetrics {
  /** For DependencyFaultGateOptions.onEffect. */
  onDependencyEffect(dependency: Dependency, effect: "failure" | "latency"): void;
  /** Adds the series to the service's registry (it exists only once the server runs). */
  register(registry: Registry): void;
}

function kindLabel(kind: FaultKind): string {
  const name = FaultKindSchema.value[kind]?.name ?? "FAULT_KIND_UNSPECIFIED";
  return name.replace(/^FAULT_KIND_/, "").toLowerCase();
}

/**
 * `mesh_faults_active{kind}`, read from the registry at each scrape, and
 * `mesh_dependency_faults_applied_total{dependency, effect}`, counted as the data layer applies them.
 */
export function createFaultMetrics(faults: Pick<FaultRegistry, "list">): FaultMetrics {
  const active = new Gauge({
    name: "mesh_faults_active",
    help: "Faults active on this instance, by kind.",
    labelNames: ["kind"],
    registers: [],
    collect() {
      this.reset();
      for (const value of FaultKindSchema.values) if (value.number !== 0) this.set({ kind: kindLabel(value.number as FaultKind) }, 0);
      for (const fault of faults.list()) this.inc({ kind: kindLabel(fault.kind) });
    },
  });
  const applied = new Counter({
    name: "mesh_dependency_faults_applied_total",
    help: "Injected dependency failures and delays applied to PostgreSQL and Valkey calls.",
    labelNames: ["dependency", "effect"],
    registers: [],
  });
  return {
    onDependencyEffect(dependency, effect) {
      applied.inc({ dependency, effect });
    },
    register(registry) {
      registry.registerMetric(active);
      registry.registerMetric(applied);
    },
  };
}
