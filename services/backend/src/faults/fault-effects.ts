import { durationMs } from "@bufbuild/protobuf/wkt";
import type { Fault } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";

export interface FaultEffectsOptions {
  /** Ends the process; the supervisor restarts it. */
  exit: (code: number) => void;
  /** Memory pressure grows in steps this often. @default 100 ms */
  memoryStepMs?: number;
}

export interface FaultEffects {
  /** Starts what a fault does on its own: the crash timer, the memory growth. */
  start(fault: Fault): void;
  /** Stops it and releases what it holds. */
  stop(fault: Fault): void;
  /** Bytes held by memory pressure now. */
  heldBytes(): number;
}

const megabyte = 1024 * 1024;
const minimumCrashDelayMs = 250;

/** The process-level faults: crash after a delay, and memory growth up to a bound. */
export function createFaultEffects(options: FaultEffectsOptions): FaultEffects {
  const stepMs = options.memoryStepMs ?? 100;
  const running = new Map<string, { timer: NodeJS.Timeout; buffers: Buffer[] }>();
  return {
    start(fault) {
      const spec = fault.spec;
      if (spec.case === "crash") {
        // Never before the InjectFault answer has left: the caller must learn the fault was accepted.
        const delay = Math.max(spec.value.delay ? durationMs(spec.value.delay) : 0, minimumCrashDelayMs);
        const code = spec.value.exitCode === 0 ? 1 : spec.value.exitCode;
        const timer = setTimeout(() => options.exit(code), delay);
        running.set(fault.id, { timer, buffers: [] });
      } else if (spec.case === "memoryPressure") {
        const buffers: Buffer[] = [];
        const stepBytes = Math.ceil((spec.value.megabytesPerSecond * megabyte * stepMs) / 1000);
        const maxBytes = spec.value.maxMegabytes * megabyte;
        let held = 0;
        const timer = setInterval(() => {
          if (held >= maxBytes) return;
          const size = Math.min(stepBytes, maxBytes - held);
          // Filled, so the pages are really touched and show in RSS.
          buffers.push(Buffer.alloc(size, 1));
          held += size;
        }, stepMs);
        timer.unref();
        running.set(fault.id, { timer, buffers });
      }
    },
    stop(fault) {
      const entry = running.get(fault.id);
      if (!entry) return;
      clearTimeout(entry.timer);
      clearInterval(entry.timer);
      entry.buffers.length = 0;
      running.delete(fault.id);
    },
    heldBytes() {
      let total = 0;
      for (const { buffers } of running.values()) for (const b of buffers) total += b.length;
      return total;
    },
  };
}
