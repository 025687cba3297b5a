// A lean load generator for the benchmarks, run in a process of its own: `runLoad(spec)` spawns it and resolves
// with what it measured.
//
// Why its own process, and why not the connect-es clients: a load generator's garbage-collection pauses and
// timer bursts land in every latency it measures. This one sends pre-encoded requests on bare sockets
// (raw-grpc-client.ts for gRPC over h2c, raw-http1-client.ts for HTTP/1.1: node:http2 and node:http allocate
// several KB per request, part of which is promoted, and their collection paused the generator for up to
// 13 ms at 1,000 req/s), keeps latencies in a preallocated Float64Array, paces an open loop evenly (one send per
// timer turn at most a millisecond late, each request timed from the moment it was due), and reports its own
// longest GC pause so that a figure near it can be read as the generator's, not the server's.
import { spawn } from "node:child_process";
import { PerformanceObserver } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { createRawGrpcClient } from "./raw-grpc-client.ts";
import type { Done, RawClient } from "./raw-client.ts";
import { createRawHttp1Client } from "./raw-http1-client.ts";

/** One kind of request, sent again and again; `bodies` and `headers` are cycled by request number. */
export interface LoadSpec {
  /**
   * `grpc`: HTTP/2 POST (h2c, one connection), success is an answer's shape, headers then a message then trailers
   * (raw-grpc-client.ts reads no grpc-status: callers check codes in the server's metrics). `http1`: HTTP/1.1
   * with keep-alive, success is a 2xx status.
   */
  protocol: "grpc" | "http1";
  /** Base URL, for example http://127.0.0.1:8080. */
  url: string;
  method?: "GET" | "POST";
  path: string;
  /** Request bodies, base64 (for gRPC: the enveloped message); request i sends bodies[i % length]. */
  bodies?: string[];
  /** HTTP/1.1 only: the content-type of every request with a body (gRPC always sends application/grpc). */
  contentType?: string;
  /** Extra request headers; request i sends headers[i % length]. */
  headers?: Array<Record<string, string>>;
  /** Open loop at `rate` requests a second, or a closed loop of `callers` that each send again on an answer. */
  load: { rate: number; seconds: number } | { callers: number; seconds: number };
  /** HTTP/1.1 connections at most (default 64); gRPC uses one HTTP/2 connection, as a client channel does. */
  connections?: number;
  timeoutMs?: number;
  /** Requests sent and not measured before the run (connections open, code compiled on both sides); by default 200 of the spec's own. */
  warmup?: { count: number; path?: string; bodies?: string[] };
}

export interface LoadResult {
  sent: number;
  ok: number;
  errors: number;
  /** The first failure's description: HTTP status and body start, or a gRPC answer's shape (its code is not read), timeout, or connection error. */
  firstError?: string;
  /** Answered requests a second, over the time from the first send to the last answer. */
  throughput: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  /** How far behind its schedule the open loop sent, at worst (ms); 0 for a closed loop. */
  sendLagMaxMs: number;
  /** The generator's own longest garbage-collection pause during the run (ms). */
  gcMaxMs: number;
  /** The generator's CPU time per answered request (ms). */
  cpuMsPerRequest: number;
}

/**
 * Runs `spec` in a load-generator process of its own and resolves with its figures. `onWarm` is called once the
 * warm-up is over, just before the measured run starts: callers sample other processes' CPU from there.
 * Rejects if the generator has not finished within the run's length plus `timeoutMs`.
 */
export async function runLoad(spec: LoadSpec, onWarm?: () => void): Promise<LoadResult> {
  const child = spawn(process.execPath, ["--max-semi-space-size=16", import.meta.filename], { stdio: ["pipe", "pipe", "inherit"] });
  child.stdin.write(`${JSON.stringify(spec)}\n`);
  let out = "";
  let warm = false;
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    if (!warm && out.includes("\n")) {
      // The first line says the warm-up is over; the run starts when told to.
      warm = true;
      out = out.slice(out.indexOf("\n") + 1);
      onWarm?.();
      child.stdin.end("go\n");
    }
  });
  const limitMs = spec.load.seconds * 1000 + 60_000 + (spec.timeoutMs ?? 5000);
  const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`the load generator exited with code ${code}${code === null ? ` (killed after ${limitMs / 1000} s)` : ""}`);
  return JSON.parse(out) as LoadResult;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function generate(spec: LoadSpec): Promise<LoadResult> {
  const timeoutMs = spec.timeoutMs ?? 5000;
  return spec.protocol === "grpc"
    ? generateWith(spec, createRawGrpcClient({ url: spec.url, timeoutMs }))
    : generateWith(spec, createRawHttp1Client({ url: spec.url, method: spec.method, contentType: spec.contentType, connections: spec.connections, timeoutMs }));
}

/**
 * Request i: bodies[i % bodies.length] with headers[i % headers.length], each distinct request encoded up front
 * (they recur every least common multiple of the two lengths; beyond a million, each is encoded when sent).
 */
function encoder<R>(client: RawClient<R>, path: string, bodies: Buffer[], headers: Array<Record<string, string>> | undefined): (i: number) => R {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const [b, h] = [Math.max(1, bodies.length), Math.max(1, headers?.length ?? 0)];
  const cycle = (b / gcd(b, h)) * h;
  const encode = (i: number) => client.encode(path, bodies.length === 0 ? undefined : bodies[i % bodies.length], headers?.[i % headers.length]);
  if (cycle > 1_000_000) return encode;
  const encoded = Array.from({ length: cycle }, (_, i) => encode(i));
  return (i) => encoded[i % cycle]!;
}

async function generateWith<R>(spec: LoadSpec, sender: RawClient<R>): Promise<LoadResult> {
  const decode = (list: string[] | undefined) => (list ?? []).map((b) => Buffer.from(b, "base64"));
  const bodies = decode(spec.bodies);
  const request = encoder(sender, spec.path, bodies, spec.headers);
  const send = (i: number, done: Done) => sender.send(request(i), done);
  let gcMaxMs = 0;
  let measuring = false;
  const gc = new PerformanceObserver((list) => {
    if (measuring) for (const entry of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, entry.duration);
  });
  gc.observe({ entryTypes: ["gc"] });
  // Warm-up: connections open, code paths compiled, on both sides; eight at a time.
  const warmup = spec.warmup ?? { count: 200 };
  const warmupBodies = warmup.bodies === undefined ? bodies : decode(warmup.bodies);
  const warmRequest = warmup.path === undefined && warmup.bodies === undefined ? request : encoder(sender, warmup.path ?? spec.path, warmupBodies, warmup.path === undefined ? spec.headers : undefined);
  const warm = (i: number, done: Done) => sender.send(warmRequest(i), done);
  await new Promise<void>((resolve, reject) => {
    let left = warmup.count;
    if (left === 0) return resolve();
    const next = (i: number) =>
      warm(i, (error) => {
        if (error !== undefined) return reject(new Error(`warm-up request failed: ${error}`));
        if (--left === 0) resolve();
        else if (i + 8 < warmup.count) next(i + 8);
      });
    for (let i = 0; i < Math.min(8, warmup.count); i++) next(i);
  });

  await signalWarm();

  const load = spec.load;
  const capacity = "rate" in load ? Math.ceil(load.rate * load.seconds) : 2_000_000;
  const latencies = new Float64Array(capacity);
  let ok = 0;
  let errors = 0;
  let sent = 0;
  let firstError: string | undefined;
  let sendLagMaxMs = 0;
  measuring = true;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  let lastAnswer = start;
  const record = (due: number, error: string | undefined) => {
    const now = performance.now();
    lastAnswer = now;
    if (error === undefined) latencies[ok++] = now - due;
    else {
      errors++;
      firstError ??= error;
    }
  };
  await new Promise<void>((resolve) => {
    if ("rate" in load) {
      const interval = 1000 / load.rate;
      let settled = 0;
      const tick = () => {
        const now = performance.now();
        while (sent < capacity && start + sent * interval <= now) {
          const due = start + sent * interval;
          sendLagMaxMs = Math.max(sendLagMaxMs, now - due);
          send(sent++, (error) => {
            record(due, error);
            if (++settled === capacity) resolve();
          });
        }
        if (sent < capacity) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
      };
      tick();
    } else {
      const until = start + load.seconds * 1000;
      let running = load.callers;
      const caller = () => {
        if (performance.now() >= until || sent >= capacity) {
          if (--running === 0) resolve();
          return;
        }
        const due = performance.now();
        send(sent++, (error) => {
          record(due, error);
          caller();
        });
      };
      for (let c = 0; c < load.callers; c++) caller();
    }
  });
  const cpu = process.cpuUsage(cpuBefore);
  measuring = false;
  // GC entries arrive after the pause: one more turn, so that the last one is in.
  await new Promise((resolve) => setImmediate(resolve));
  gc.disconnect();
  sender.close();
  const sorted = latencies.subarray(0, ok).sort();
  return {
    sent,
    ok,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    throughput: ok / ((lastAnswer - start) / 1000),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: ok === 0 ? Number.NaN : sorted[ok - 1]!,
    sendLagMaxMs,
    gcMaxMs,
    cpuMsPerRequest: (cpu.user + cpu.system) / 1000 / Math.max(1, ok),
  };
}

let signalWarm: () => Promise<void> = async () => {};

if (process.argv[1] === import.meta.filename) {
  // stdin: the spec on one line, then "go" once the parent has seen "warm" on stdout.
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const spec = JSON.parse((await lines.next()).value as string) as LoadSpec;
  signalWarm = async () => {
    process.stdout.write("warm\n");
    await lines.next();
  };
  const result = await generate(spec);
  process.stdout.write(JSON.stringify(result));
}
