import { randomUUID } from "node:crypto";
import { clone } from "@bufbuild/protobuf";
import { durationMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { FaultKind, FaultSchema, type Fault } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";

export interface FaultRegistryOptions {
  /** @default Date.now */
  now?: () => number;
  /** Called when a fault starts and when it ends (expiry or clear). */
  onStart?: (fault: Fault) => void;
  onEnd?: (fault: Fault, reason: "expired" | "cleared") => void;
}

export interface FaultRegistry {
  /** Activates a validated fault; returns it with id, kind and times set. */
  inject(fault: Fault, options?: { permanent?: boolean }): Fault;
  /** Ends one fault; undefined when the id is unknown. */
  clear(id: string): Fault | undefined;
  /** Ends every fault, or those of one kind. */
  clearAll(kind?: FaultKind): Fault[];
  /** Active faults, soonest expiry first. */
  list(): Fault[];
  /** Active faults that apply to a call of `procedure` (`package.Service/Method`). */
  matching(procedure: string): readonly Fault[];
  /** Ends every fault without reporting them; for shutdown. */
  close(): void;
}

const noFaults: readonly Fault[] = Object.freeze([]);

const kindBySpec: Record<NonNullable<Fault["spec"]["case"]>, FaultKind> = {
  errorRate: FaultKind.ERROR_RATE,
  latency: FaultKind.LATENCY,
  hang: FaultKind.HANG,
  crash: FaultKind.CRASH,
  database: FaultKind.DATABASE,
  cache: FaultKind.CACHE,
  memoryPressure: FaultKind.MEMORY_PRESSURE,
};

/** Services a fault without a method filter leaves alone, so an instance stays observable and controllable. */
const exemptServices = ["grpc.health.v1.Health", "grpc.reflection.", "mesh.chaos.v1.FaultService", "mesh.health.v1.StatusService"];

/** Whether a fault's method filter selects `procedure`. */
export function faultApplies(methods: readonly string[], procedure: string): boolean {
  if (methods.length === 0) return !exemptServices.some((s) => procedure.startsWith(s));
  const service = procedure.slice(0, procedure.indexOf("/"));
  return methods.some((m) => m === procedure || m === service);
}

/** In-memory set of active faults with timers for their expiry. */
export function createFaultRegistry(options: FaultRegistryOptions = {}): FaultRegistry {
  const now = options.now ?? Date.now;
  const active = new Map<string, { fault: Fault; timer: NodeJS.Timeout | undefined }>();

  function end(id: string, reason: "expired" | "cleared"): Fault | undefined {
    const entry = active.get(id);
    if (!entry) return undefined;
    active.delete(id);
    clearTimeout(entry.timer);
    options.onEnd?.(entry.fault, reason);
    return entry.fault;
  }

  return {
    inject(fault, injectOptions = {}) {
      const started = now();
      const stored = clone(FaultSchema, fault);
      stored.id = randomUUID();
      stored.kind = stored.spec.case === undefined ? FaultKind.UNSPECIFIED : kindBySpec[stored.spec.case];
      stored.startTime = timestampFromMs(started);
      let timer: NodeJS.Timeout | undefined;
      if (!injectOptions.permanent && stored.duration !== undefined) {
        const ms = durationMs(stored.duration);
        stored.expireTime = timestampFromMs(started + ms);
        timer = setTimeout(() => end(stored.id, "expired"), ms);
        timer.unref();
      } else {
        stored.expireTime = undefined;
      }
      active.set(stored.id, { fault: stored, timer });
      options.onStart?.(stored);
      return stored;
    },
    clear: (id) => end(id, "cleared"),
    clearAll(kind) {
      const ended: Fault[] = [];
      for (const [id, { fault }] of [...active]) {
        if (kind === undefined || kind === FaultKind.UNSPECIFIED || fault.kind === kind) ended.push(end(id, "cleared")!);
      }
      return ended;
    },
    list() {
      const expiry = (f: Fault) => (f.expireTime ? Number(f.expireTime.seconds) * 1000 + f.expireTime.nanos / 1e6 : Infinity);
      return [...active.values()].map((e) => e.fault).sort((a, b) => expiry(a) - expiry(b));
    },
    matching(procedure) {
      // The usual case, on every RPC: no fault at all, and no array made for it.
      if (active.size === 0) return noFaults;
      const out: Fault[] = [];
      for (const { fault } of active.values()) if (faultApplies(fault.methods, procedure)) out.push(fault);
      return out;
    },
    close() {
      for (const { timer } of active.values()) clearTimeout(timer);
      active.clear();
    },
  };
}

