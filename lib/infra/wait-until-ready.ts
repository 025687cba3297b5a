import { setTimeout as sleep } from "node:timers/promises";
import type { ManagedProcess } from "./managed-process.ts";

export type Readiness = "ready" | "exited" | "timeout";

/** Polls `isReady` until it answers true, the process exits, or `timeoutMs` passes. */
export async function waitUntilReady(
  child: ManagedProcess,
  isReady: () => Promise<boolean>,
  { timeoutMs, intervalMs = 50 }: { timeoutMs: number; intervalMs?: number },
): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  while (child.isRunning()) {
    if (await isReady()) return "ready";
    if (Date.now() >= deadline) return "timeout";
    await Promise.race([sleep(intervalMs), child.exited]);
  }
  return "exited";
}
