// A load test runs here, in a worker thread, so the control plane's event loop stays responsive.
// It receives a WorkerSpec in workerData, posts ProgressReports, and stops early on a "stop" message.
import { parentPort, workerData } from "node:worker_threads";
import { createProgressRecorder } from "./load-progress.ts";

export interface WorkerSpec {
  /** Absolute URL of each request, on the mesh's gateway. */
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** "connect" reads the Connect error code from failed responses; "http" names failures by status. */
  protocol: "connect" | "http";
  concurrency: number;
  requestsPerSecond: number;
  durationMs: number;
  reportEveryMs: number;
}

async function failureCode(res: Response, protocol: WorkerSpec["protocol"]): Promise<string | undefined> {
  if (res.ok) {
    await res.arrayBuffer();
    return undefined;
  }
  if (protocol === "connect") {
    const body = (await res.json().catch(() => ({}))) as { code?: unknown };
    if (typeof body.code === "string") return body.code;
  } else {
    await res.arrayBuffer();
  }
  return `http_${res.status}`;
}

async function run(spec: WorkerSpec, stop: AbortSignal): Promise<void> {
  const progress = createProgressRecorder();
  const started = performance.now();
  const deadline = started + spec.durationMs;
  const intervalMs = 1000 / spec.requestsPerSecond;
  let inFlight = 0;
  let slotFreed: (() => void) | undefined;
  const reporter = setInterval(() => parentPort?.postMessage(progress.report(performance.now() - started, false)), spec.reportEveryMs);

  const one = async () => {
    const sentAt = performance.now();
    progress.sent();
    try {
      const res = await fetch(spec.url, { method: spec.method, headers: spec.headers, body: spec.body, signal: AbortSignal.timeout(30_000) });
      progress.record(performance.now() - sentAt, await failureCode(res, spec.protocol));
    } catch (err) {
      progress.record(performance.now() - sentAt, err instanceof Error && err.name === "TimeoutError" ? "deadline_exceeded" : "unavailable");
    } finally {
      inFlight--;
      slotFreed?.();
    }
  };

  const pending = new Set<Promise<void>>();
  for (let i = 0; ; i++) {
    const due = started + i * intervalMs;
    if (due >= deadline || stop.aborted) break;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    while (inFlight >= spec.concurrency && !stop.aborted) await new Promise<void>((r) => (slotFreed = r));
    if (stop.aborted || performance.now() >= deadline) break;
    inFlight++;
    const p = one();
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }
  await Promise.all(pending);
  clearInterval(reporter);
  parentPort?.postMessage(progress.report(performance.now() - started, true));
}

if (parentPort) {
  const stop = new AbortController();
  parentPort.on("message", (message) => {
    if (message === "stop") stop.abort();
  });
  run(workerData as WorkerSpec, stop.signal).catch((err: unknown) => {
    parentPort?.postMessage({ ...createProgressRecorder().report(0, true), error: err instanceof Error ? err.message : String(err) });
  });
}
