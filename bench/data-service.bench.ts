// Benchmark of the backend data service, standalone: `node bench/data-service.bench.ts`.
//
// Starts a private PostgreSQL and Redis (in a temp folder) and a real backend process as `npm start` runs it,
// then measures over gRPC (HTTP/2, binary) and Connect (HTTP/1.1, JSON), in one run: GetItem on a cache hit
// and on a cache miss, ListItems (cached and not) and CreateItem, at fixed request rates (open loop: latency
// counts from the moment each request was due, so a stall is not hidden). The cache-hit figure is set against a
// plain ioredis GET run the same way in this process. Each phase also reports the backend's CPU time per
// request (from /proc), which depends much less than latency on what else the machine runs. Loopback only,
// bounded in time and count. Prints a markdown table and writes it to bench/results/data-service.md.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import { create, toBinary, toJsonString, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { Health, HealthCheckRequestSchema, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";
import { CreateItemRequestSchema, DataService, GetItemRequestSchema, GetItemResponseSchema, ListItemsRequestSchema } from "../gen/mesh/data/v1/data_pb.ts";
import { createPool } from "../lib/db/create-pool.ts";
import { findPostgresBinaries } from "../lib/infra/find-postgres-binaries.ts";
import { getFreePort } from "../lib/infra/free-port.ts";
import { startLocalInfra } from "../lib/infra/local-infra.ts";
import { serviceNodeFlags } from "../lib/server/service-node-flags.ts";
import { percentile, runLoad, type LoadResult, type LoadSpec } from "./load-generator.ts";
import { pgbenchCreateItem } from "./pgbench-create-item.ts";

const root = resolve(import.meta.dirname, "..");
const quick = process.argv.includes("--quick");
/** Seconds per fixed-rate phase; `--quick` shortens every phase for a smoke run. */
const phaseSeconds = quick ? 1 : 5;
/** Seconds of unmeasured load (cache hits at 1,000 req/s, then creates at 200 req/s) that bring each protocol's paths to their steady state. */
const warmSeconds = quick ? 1 : 15;
/** The cache-hit phase at 1,000 req/s run before that warm-up, and the CreateItem phase at 200 req/s before its own. */
const coldHit = "GetItem, cache hit, cold (before the warm-up)";
const coldCreate = "CreateItem, cold (before the warm-up)";
const requestTimeoutMs = 5000;
/** `--backend-node-options="--max-semi-space-size=8"`: NODE_OPTIONS for the backend process (default none). */
const backendNodeOptions = process.argv.find((a) => a.startsWith("--backend-node-options="))?.slice("--backend-node-options=".length);
/**
 * `--backend-flags="--trace-gc-nvp"`: more flags on the backend's command line (V8 flags that Node refuses in
 * NODE_OPTIONS), and `--backend-log=FILE`: where its output goes (by default a file in the run's temporary folder).
 */
const backendFlags = (process.argv.find((a) => a.startsWith("--backend-flags="))?.slice("--backend-flags=".length) ?? "").split(" ").filter(Boolean);
const backendLog = process.argv.find((a) => a.startsWith("--backend-log="))?.slice("--backend-log=".length);
const hotItems = 100;

interface PhaseResult {
  protocol: string;
  scenario: string;
  rate: number | "max";
  sent: number;
  ok: number;
  errors: number;
  throughput: number;
  p50: number;
  p99: number;
  max: number;
  backendRssMb: number;
  /** Backend CPU time (user + system) per answered request, in ms: what the figures cost, whatever the load. */
  backendCpuMs: number;
  /** This process's CPU time per answered request, in ms: when it nears 1000 / rate, the client is the limit. */
  clientCpuMs: number;
  /** The longest garbage-collection pause of this process (the load generator) during a fixed-rate phase, in ms. */
  clientGcMaxMs: number;
  /**
   * The share of the machine's CPU time the hypervisor gave to other guests during the phase (steal, from
   * /proc/stat), in percent: on a shared VM, a phase that lost a few percent was also paused in bursts.
   */
  stolenPct: number;
}

const results: PhaseResult[] = [];

/** h2load (nghttp2's HTTP/2 load generator, a C program: no GC pauses of its own) when it is on PATH. */
const h2load = (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "h2load")).find((file) => spawnSync(file, ["--version"]).status === 0);
/** What the h2load rows found beyond the table: how far its sends lagged an even schedule, p99 counted from then. */
interface H2loadExtra {
  sendLagMaxMs: number;
  p99FromDueMs: number;
  allCached: boolean;
  /** h2load's --rps sends on a coarse timer, several requests at once: the median number sent together. */
  medianBurst: number;
}
let h2loadExtra: H2loadExtra | undefined;

// The load generator's own GC pauses delay every request in flight, and so show in its latency figures: each
// fixed-rate phase reports the longest one, so that a p99 near it is read as the client's, not the backend's.
const gcPauses: PerformanceEntry[] = [];
new PerformanceObserver((list) => gcPauses.push(...list.getEntries())).observe({ entryTypes: ["gc"] });
function longestGcPause(from: number, to: number): number {
  let longest = 0;
  for (const entry of gcPauses) if (entry.startTime >= from && entry.startTime <= to) longest = Math.max(longest, entry.duration);
  return longest;
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
}

function peakRssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
}

/** How much of a process's resident memory is its own: from /proc/PID/smaps_rollup and smaps, in MB. */
function memoryShareOf(pid: number): { rss: number; sharedClean: number; private: number; nodeBinary: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? 0);
  let nodeBinary = 0;
  let inBinary = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inBinary = line.trimEnd().endsWith(process.execPath);
    else if (inBinary && line.startsWith("Rss:")) nodeBinary += Number(/(\d+)/.exec(line)?.[1] ?? 0);
  }
  return { rss: kb("Rss") / 1024, sharedClean: kb("Shared_Clean") / 1024, private: (kb("Private_Clean") + kb("Private_Dirty")) / 1024, nodeBinary: nodeBinary / 1024 };
}

/** User + system CPU time of a process so far, in ms (clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The machine's CPU time so far, in clock ticks: all of it, and what the hypervisor gave to other guests (steal). */
function machineTicks(): { steal: number; total: number } {
  const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal (guest time is counted in user already).
  const ticks = fields.slice(0, 8).map(Number);
  return { steal: ticks[7] ?? 0, total: ticks.reduce((a, b) => a + b, 0) };
}

/** The share of the machine's CPU time taken by the hypervisor since `before`, in percent. */
function stolenSince(before: { steal: number; total: number }): number {
  const now = machineTicks();
  return now.total === before.total ? 0 : (100 * (now.steal - before.steal)) / (now.total - before.total);
}

/** A gRPC length-prefixed message: an uncompressed flag byte, the length (big-endian uint32), the message. */
function grpcEnvelope(message: Uint8Array): Buffer {
  const body = Buffer.alloc(5 + message.length);
  body.writeUInt32BE(message.length, 1);
  body.set(message, 5);
  return body;
}

/**
 * Samples a process's RSS while `work` runs; resolves with work's result, the peak seen, the CPU it used and the
 * share of the machine's CPU stolen by the hypervisor (percent), the last two from the moment `work` calls its
 * `begin` argument (the load generator's warm-up is not counted).
 */
async function observe<T>(pid: number | undefined, work: (begin: () => void) => Promise<T>): Promise<[T, number, number, number]> {
  let ticksBefore = machineTicks();
  if (pid === undefined) return [await work(() => (ticksBefore = machineTicks())), 0, 0, stolenSince(ticksBefore)];
  let peak = rssOf(pid);
  let cpuBefore = cpuMsOf(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssOf(pid));
  }, 50);
  try {
    const result = await work(() => {
      cpuBefore = cpuMsOf(pid);
      ticksBefore = machineTicks();
    });
    return [result, peak, cpuMsOf(pid) - cpuBefore, stolenSince(ticksBefore)];
  } finally {
    clearInterval(timer);
  }
}

/**
 * Waits until the backend has relayed every outbox event (the creates' aftermath) and answers quickly again:
 * each phase starts without the backlog of the last one.
 */
async function settle(probe: () => Promise<unknown>, unrelayed: () => Promise<number>): Promise<void> {
  const until = Date.now() + 15_000;
  await new Promise((r) => setTimeout(r, 500));
  while (Date.now() < until) {
    if ((await unrelayed()) > 0) {
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    const started = performance.now();
    await probe().catch(() => {});
    if (performance.now() - started < 20) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Sends `rate` requests a second for `seconds` whatever the answers take (open loop), and measures each from
 * the moment it was due.
 */
async function fixedRate(rate: number, seconds: number, send: (i: number) => Promise<unknown>) {
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latencies: number[] = [];
  let errors = 0;
  let settled = 0;
  let firstError: unknown;
  const start = performance.now();
  let next = 0;
  await new Promise<void>((resolveAll) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        const due = start + next * interval;
        send(next++)
          .then(
            () => latencies.push(performance.now() - due),
            (err: unknown) => {
              errors++;
              firstError ??= err;
            },
          )
          .finally(() => {
            if (++settled === total) resolveAll();
          });
      }
      if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    tick();
  });
  const end = performance.now();
  // GC entries are delivered after the pause: one more turn, so that the phase's last one is in.
  await new Promise((r) => setImmediate(r));
  const elapsed = (end - start) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  if (firstError !== undefined) console.error(`  first error: ${String((firstError as Error).message ?? firstError)}`);
  return {
    sent: total,
    ok: latencies.length,
    errors,
    throughput: latencies.length / elapsed,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    clientGcMaxMs: longestGcPause(start, end),
  };
}

/** As many requests as `concurrency` callers in a loop complete in `seconds`: requests per second. */
async function closedLoop(concurrency: number, seconds: number, send: (i: number) => Promise<unknown>): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let count = 0;
  let i = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await send(i++);
        count++;
      }
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

/** Sums `name{...labels} value` series of a Prometheus text exposition whose labels contain every one of `having`. */
function metricSum(text: string, name: string, having: string[]): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) || !having.every((h) => line.includes(h))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/**
 * Cache-hit GetItem over gRPC with h2load as the load generator: `total` requests on one HTTP/2 connection (as
 * the Node client uses), `rate` a second, up to 256 streams in flight so that a send never waits for a free one.
 * h2load's --rps sends on a timer and times each request from the moment it submits it to the end of its
 * response (--log-file: start, HTTP status, microseconds), so a late send is not counted in its latency; the
 * send lag behind an even schedule and the p99 counted from the due time are therefore computed here too. gRPC
 * reports errors in trailers, which h2load does not record: every call's code is checked in the backend's own
 * metrics instead (as many `GetItem` calls with code ok as requests sent, nothing else), and that every answer
 * was the cached item by the body bytes h2load received (`total` × the size of one cache-hit response).
 */
async function h2loadGetItem(binary: string, baseUrl: string, dir: string, id: string, cachedResponseBytes: number, rate: number, total: number) {
  const body = grpcEnvelope(toBinary(GetItemRequestSchema, create(GetItemRequestSchema, { id })));
  const bodyFile = join(dir, "getitem.grpc");
  const logFile = join(dir, `h2load-${Date.now()}.tsv`);
  writeFileSync(bodyFile, body);
  const metricsBefore = await (await fetch(`${baseUrl}/metrics`)).text();
  const args = ["-n", String(total), "-c", "1", "-m", "256", "--rps", String(rate), `--log-file=${logFile}`, "-d", bodyFile,
    "-H", "content-type: application/grpc", "-H", "te: trailers", `${baseUrl}/mesh.data.v1.DataService/GetItem`];
  // `times` (POSIX) prints the shell's and then its children's user and system time: h2load's CPU.
  const run = spawn("sh", ["-c", '"$@"; s=$?; times; exit $s', "sh", binary, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  run.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((r) => run.once("exit", r));
  if (code !== 0) throw new Error(`h2load exited with code ${code}`);
  const clock = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s\s*$/.exec(out.trim());
  const clientCpuTotalMs = clock ? (Number(clock[1]) * 60 + Number(clock[2]) + Number(clock[3]) * 60 + Number(clock[4])) * 1000 : NaN;
  const metricsAfter = await (await fetch(`${baseUrl}/metrics`)).text();

  const rows = readFileSync(logFile, "utf8").trim().split("\n").map((line) => line.split("\t").map(Number));
  const okRows = rows.filter((r) => r[1] === 200);
  const getItem = ['rpc_service="mesh.data.v1.DataService"', 'rpc_method="GetItem"'];
  const okCalls = metricSum(metricsAfter, "rpc_server_requests_total", [...getItem, 'code="ok"']) - metricSum(metricsBefore, "rpc_server_requests_total", [...getItem, 'code="ok"']);
  const allCalls = metricSum(metricsAfter, "rpc_server_requests_total", getItem) - metricSum(metricsBefore, "rpc_server_requests_total", getItem);
  // "traffic: … (N) data": the response bodies' bytes. A miss answers without `cached: true`, 2 bytes shorter.
  const dataBytes = Number(/\((\d+)\) data/.exec(out)?.[1] ?? NaN);
  const allCached = dataBytes === total * cachedResponseBytes;
  if (rows.length !== total || okRows.length !== total || okCalls !== total || allCalls !== total || !allCached) {
    console.error(
      `  h2load: ${rows.length} logged, ${okRows.length} with HTTP 200, ${dataBytes} body bytes (expected ${total * cachedResponseBytes}); ` +
        `backend: ${allCalls} GetItem calls, ${okCalls} ok (expected ${total})`,
    );
  }
  // In the order sent (h2load sends in schedule order): the i-th request was due at first + i × interval.
  const bySend = rows.map((r) => ({ startMs: r[0]! / 1000, endMs: r[0]! / 1000 + r[2]! / 1000 })).sort((x, y) => x.startMs - y.startMs);
  const first = bySend[0]?.startMs ?? 0;
  const interval = 1000 / rate;
  let sendLagMaxMs = 0;
  let lastEnd = first;
  // Bursts: runs of sends less than 50 µs apart.
  const bursts: number[] = [];
  bySend.forEach(({ startMs }, i) => {
    if (i > 0 && startMs - bySend[i - 1]!.startMs < 0.05) bursts[bursts.length - 1]!++;
    else bursts.push(1);
  });
  const medianBurst = percentile(Float64Array.from(bursts).sort(), 50);
  const fromDue = new Float64Array(bySend.length);
  bySend.forEach(({ startMs, endMs }, i) => {
    sendLagMaxMs = Math.max(sendLagMaxMs, startMs - (first + i * interval));
    fromDue[i] = endMs - (first + i * interval);
    lastEnd = Math.max(lastEnd, endMs);
  });
  fromDue.sort();
  const sorted = Float64Array.from(okRows, (r) => r[2]! / 1000).sort();
  const elapsedS = (lastEnd - first) / 1000;
  return {
    sent: total,
    ok: Math.min(okRows.length, okCalls),
    errors: total - Math.min(okRows.length, okCalls),
    allCached,
    throughput: elapsedS > 0 ? rows.length / elapsedS : NaN,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
    clientCpuTotalMs,
    sendLagMaxMs,
    medianBurst,
    p99FromDueMs: percentile(fromDue, 99),
  };
}

/**
 * The load generator reads no gRPC status (raw-grpc-client.ts counts an answer's shape): every answer it
 * counted as a success must be a call the backend counted with code ok (`delta` reads the backend's metrics
 * over the run; the warm-up's requests count too when they went to the same method). The backend may count
 * more: a request the generator gave up on (a timeout, counted as an error) can still have been answered.
 */
function checkCodes(what: string, spec: LoadSpec, r: LoadResult, delta: (name: string, having: string[]) => number): void {
  const [, service, method] = /^\/([^/]+)\/([^/]+)$/.exec(spec.path) ?? [];
  const okCalls = delta("rpc_server_requests_total", [`rpc_service="${service}"`, `rpc_method="${method}"`, 'code="ok"']);
  const warmup = spec.warmup ?? { count: 200 };
  const warmedHere = (warmup.path ?? spec.path) === spec.path ? warmup.count : 0;
  if (okCalls < r.ok + warmedHere) {
    throw new Error(`${what}: the generator counted ${r.ok} successes (and ${warmedHere} warm-up requests), the backend only ${okCalls} calls with code ok`);
  }
}

async function waitServing(baseUrl: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const health = createClient(Health, createGrpcTransport({ baseUrl }));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the backend exited with code ${child.exitCode} during start-up`);
    try {
      const res = await health.check({ service: "" }, { timeoutMs: 1000 });
      if (res.status === HealthCheckResponse_ServingStatus.SERVING) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the backend did not become healthy within ${timeoutMs / 1000} s`);
}

/** SIGTERM, and SIGKILL if it has not exited 10 s later. */
async function stopBackend(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "–");

const loadBefore = loadavg()[0]!;
if (h2load === undefined) console.log("h2load not found on PATH: the h2load rows are skipped (apt-get install nghttp2-client to get them).");
const dataDir = await mkdtemp(join(tmpdir(), "bench-data-service-"));
// Traversable (not listable), so that a PostgreSQL run as the postgres account reaches its folder inside.
await chmod(dataDir, 0o711);
let backend: ChildProcess | undefined;
// Durable, as in production: CreateItem's figures include the WAL flush at each commit.
const infra = await startLocalInfra({ dataDir: join(dataDir, "infra"), durablePostgres: true });
try {
  const port = await getFreePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const log = openSync(backendLog ?? join(dataDir, "backend.log"), "a");
  backend = spawn(
    process.execPath,
    [...serviceNodeFlags, ...backendFlags, "--import", join(root, "services/backend/src/telemetry.ts"), join(root, "services/backend/src/main.ts")],
    {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: infra.databaseUrl,
        REDIS_URL: infra.redisUrl,
        PORT: String(port),
        INSTANCE_ID: "bench-backend",
        LOG_LEVEL: "warn",
        ...(backendNodeOptions === undefined ? {} : { NODE_OPTIONS: backendNodeOptions }),
      },
      stdio: ["ignore", log, log],
    },
  );
  const pid = backend.pid;
  await waitServing(baseUrl, backend);
  console.log(`backend ${baseUrl} (pid ${pid}), PostgreSQL ${infra.databaseUrl}, Redis ${infra.redisUrl}`);

  // Items straight into PostgreSQL: hot ones for cache hits, and a fresh id for every cache-miss request.
  const missRate = 500;
  const missPerProtocol = missRate * phaseSeconds;
  const pool = createPool({ url: infra.databaseUrl, applicationName: "bench" });
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO items (name, value, metadata)
     SELECT 'bench-' || g, jsonb_build_object('n', g, 'tags', jsonb_build_array('a', 'b')), '{"source":"bench"}'
       FROM generate_series(1, $1) g
     RETURNING id`,
    [hotItems + 2 * missPerProtocol + 100],
  );
  // As autovacuum would leave a table in service: statistics, and a visibility map for index-only counts.
  await pool.query("VACUUM (ANALYZE) items");
  // Kept for settle(): outbox events the backend has yet to relay.
  const unrelayed = async () => Number((await pool.query<{ n: string }>("SELECT count(*) AS n FROM outbox WHERE relayed_at IS NULL")).rows[0]!.n);
  const ids = rows.map((r) => r.id);
  const hot = ids.slice(0, hotItems);
  const missIds = [ids.slice(hotItems, hotItems + missPerProtocol), ids.slice(hotItems + missPerProtocol, hotItems + 2 * missPerProtocol)];

  // The baseline: a plain ioredis GET of a value the size of a cached item, in this process.
  const redis = new Redis(infra.redisUrl);
  await redis.set("bench:baseline", Buffer.alloc(120, 7));
  {
    const cpuBefore = process.cpuUsage();
    const ticksBefore = machineTicks();
    const r = await fixedRate(1000, phaseSeconds, () => redis.getBuffer("bench:baseline"));
    const cpu = process.cpuUsage(cpuBefore);
    // For the baseline, the CPU column is this process's own: the client side of a GET.
    const perGet = (cpu.user + cpu.system) / 1000 / r.ok;
    results.push({ protocol: "ioredis", scenario: "GET (baseline)", rate: 1000, ...r, backendRssMb: 0, backendCpuMs: NaN, clientCpuMs: perGet, stolenPct: stolenSince(ticksBefore) });
  }
  const baselineMax = await closedLoop(64, quick ? 1 : 3, () => redis.getBuffer("bench:baseline"));
  results.push({ protocol: "ioredis", scenario: "GET (baseline)", rate: "max", sent: 0, ok: 0, errors: 0, throughput: baselineMax, p50: NaN, p99: NaN, max: NaN, backendRssMb: 0, backendCpuMs: NaN, clientCpuMs: NaN, clientGcMaxMs: NaN, stolenPct: NaN });

  // The floor: the same load generator against a server that answers at once (bench/bare-server.ts), so that
  // what this machine and the client cost on their own can be told from what the backend adds.
  {
    const barePorts = { grpc: await getFreePort(), http1: await getFreePort() };
    const bare = spawn(process.execPath, [join(root, "bench/bare-server.ts"), String(barePorts.grpc), String(barePorts.http1)], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise((r) => bare.stdout!.once("data", r));
    for (const [protocol, generator] of [["Connect", "http1"], ["gRPC", "grpc"]] as const) {
      const [r, , , stolenPct] = await observe(undefined, (begin) => runLoad({
        protocol: generator, url: `http://127.0.0.1:${barePorts[generator]}`, path: "/bare", bodies: [Buffer.from(generator === "grpc" ? grpcEnvelope(new Uint8Array(40)) : "{}").toString("base64")],
        contentType: "application/json", load: { rate: 1000, seconds: phaseSeconds },
      }, begin));
      results.push({ protocol, scenario: "bare server, answers at once (floor)", rate: 1000, sent: r.sent, ok: r.ok, errors: r.errors, throughput: r.throughput, p50: r.p50, p99: r.p99, max: r.max, backendRssMb: 0, backendCpuMs: NaN, clientCpuMs: r.cpuMsPerRequest, clientGcMaxMs: r.gcMaxMs, stolenPct });
      console.log(`${protocol} bare server @1000/s: p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms`);
    }
    bare.kill("SIGTERM");
  }

  // Connect first: its phases then show the backend's memory before any overload has grown the heap. Every
  // phase's load comes from bench/load-generator.ts, a process of its own sending pre-encoded requests, so that
  // neither this process's heap nor connect-es's client costs land in the figures.
  const protocols = [
    { protocol: "Connect", generator: "http1" as const, client: createClient(DataService, createConnectTransport({ baseUrl, httpVersion: "1.1" })) },
    { protocol: "gRPC", generator: "grpc" as const, client: createClient(DataService, createGrpcTransport({ baseUrl })) },
  ];
  const opts = { timeoutMs: requestTimeoutMs };
  let protocolIndex = 0;
  for (const { protocol, generator, client } of protocols) {
    const misses = missIds[protocolIndex++]!;
    for (const id of hot) await client.getItem({ id }, opts);
    const probe = () => client.getItem({ id: hot[0]! }, opts);
    /** Request bodies as this protocol sends them: enveloped binary for gRPC, JSON for Connect. */
    const encode = <S extends DescMessage>(schema: S, init: MessageInitShape<S>): string => {
      const message = create(schema, init);
      if (generator === "http1") return Buffer.from(toJsonString(schema, message)).toString("base64");
      return grpcEnvelope(toBinary(schema, message)).toString("base64");
    };
    const hotBodies = hot.map((id) => encode(GetItemRequestSchema, { id }));
    const load = (path: string, bodies: string[], shape: LoadSpec["load"], headers?: LoadSpec["headers"]): LoadSpec => ({
      protocol: generator,
      url: baseUrl,
      path: `/mesh.data.v1.DataService/${path}`,
      bodies,
      ...(headers === undefined ? {} : { headers }),
      contentType: "application/json",
      load: shape,
      timeoutMs: requestTimeoutMs,
      // Warmed up on cache hits, so that a phase's own requests (a miss, a create) are each sent once.
      warmup: { count: 200, path: "/mesh.data.v1.DataService/GetItem", bodies: hotBodies },
    });
    /** Runs one phase and checks in the backend's own metrics that it answered what the phase expects. */
    const phase = async (scenario: string, rate: number, spec: LoadSpec, expectCache?: "hit" | "miss") => {
      await settle(probe, unrelayed);
      const before = await (await fetch(`${baseUrl}/metrics`)).text();
      let startedAt = 0;
      const [r, rss, cpuMs, stolenPct] = await observe(pid, (begin) => runLoad(spec, () => ((startedAt = Date.now()), begin())));
      // With --backend-log, the wall-clock span of the measured run, to line up with the backend's own output.
      if (backendLog !== undefined) console.log(`  measured from ${new Date(startedAt).toISOString()} to ${new Date().toISOString()}`);
      const after = await (await fetch(`${baseUrl}/metrics`)).text();
      if (r.firstError !== undefined) console.error(`  first error: ${r.firstError}`);
      const delta = (name: string, having: string[]) => metricSum(after, name, having) - metricSum(before, name, having);
      checkCodes(`${protocol} ${scenario}`, spec, r, delta);
      if (expectCache !== undefined) {
        // The warm-up's 200 hits count too; a phase of misses must have missed once per request sent.
        const hits = delta("cache_hits_total", ['cache="item"']);
        const missed = delta("cache_misses_total", ['cache="item"']);
        const expected = expectCache === "hit" ? missed === 0 && hits >= r.sent : missed === r.sent;
        if (!expected) throw new Error(`${protocol} ${scenario}: expected cache ${expectCache}s, the backend counted ${hits} hits and ${missed} misses`);
      }
      const ok = Math.max(1, r.ok);
      results.push({
        protocol, scenario, rate, sent: r.sent, ok: r.ok, errors: r.errors, throughput: r.throughput, p50: r.p50, p99: r.p99, max: r.max,
        backendRssMb: rss, backendCpuMs: cpuMs / ok, clientCpuMs: r.cpuMsPerRequest, clientGcMaxMs: r.gcMaxMs, stolenPct,
      });
      console.log(`${protocol} ${scenario} @${rate}/s: ${fmt(r.throughput, 0)} req/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms, ${r.errors} errors`);
    };
    const at = (rate: number) => ({ rate, seconds: phaseSeconds });
    // Well below saturation: what one request costs in latency when the CPU is not the bottleneck.
    await phase("GetItem, cache hit", 100, load("GetItem", hotBodies, at(100)), "hit");
    await phase(coldHit, 1000, load("GetItem", hotBodies, at(1000)), "hit");
    // Then as a service runs once warm: V8 compiles the hot paths with its optimizing compiler (TurboFan) only
    // after some 10,000 calls, and until then each request leaves about 1.6 KB that outlives the young generation
    // (measured from the backend's GC trace: 1.7 MB/s promoted at 1,000 req/s before, 80 KB/s after), so a full
    // collection comes every 3 s instead of every few minutes. The rows after this warm-up are the steady state.
    {
      const r = await runLoad(load("GetItem", hotBodies, { rate: 1000, seconds: warmSeconds }));
      if (r.errors > 0) throw new Error(`${protocol} warm-up: ${r.errors} of ${r.sent} requests failed (${r.firstError})`);
      console.log(`${protocol} warm-up: ${r.ok} cache hits at 1,000 req/s over ${warmSeconds} s`);
    }
    await phase("GetItem, cache hit", 1000, load("GetItem", hotBodies, at(1000)), "hit");
    if (protocol === "gRPC" && h2load !== undefined) {
      // The same phase with nghttp2's C load generator, as a second opinion on the client's share.
      await settle(probe, unrelayed);
      const answer = await client.getItem({ id: hot[0]! }, opts);
      if (!answer.cached) throw new Error("expected a cache hit");
      const cachedResponseBytes = 5 + toBinary(GetItemResponseSchema, answer).length;
      const [r, rss, cpuMs, stolenPct] = await observe(pid, () => h2loadGetItem(h2load, baseUrl, dataDir, hot[0]!, cachedResponseBytes, 1000, 1000 * phaseSeconds));
      const ok = Math.max(1, r.ok);
      results.push({
        protocol, scenario: "GetItem, cache hit, h2load client", rate: 1000, sent: r.sent, ok: r.ok, errors: r.errors, throughput: r.throughput,
        p50: r.p50, p99: r.p99, max: r.max, clientGcMaxMs: NaN, backendRssMb: rss, backendCpuMs: cpuMs / ok, clientCpuMs: r.clientCpuTotalMs / ok, stolenPct,
      });
      h2loadExtra = { sendLagMaxMs: r.sendLagMaxMs, p99FromDueMs: r.p99FromDueMs, allCached: r.allCached, medianBurst: r.medianBurst };
      console.log(`${protocol} GetItem, cache hit, h2load @1000/s: ${fmt(r.throughput, 0)} req/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms, ${r.errors} errors`);
    }
    await phase("GetItem, cache miss", missRate, load("GetItem", misses.map((id) => encode(GetItemRequestSchema, { id })), at(missRate)), "miss");
    await phase("ListItems, 50 per page, cached", 500, load("ListItems", [encode(ListItemsRequestSchema, { pageSize: 50 })], at(500)));
    await phase("ListItems, 50 per page, nocache", 200, load("ListItems", [encode(ListItemsRequestSchema, { pageSize: 50, nocache: true })], at(200)));
    const creates = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, i) => encode(CreateItemRequestSchema, { item: { name: `${prefix}-${protocol}-${i}`, metadata: { i } } }));
    await phase("CreateItem", 50, load("CreateItem", creates("created-slow", 50 * phaseSeconds), at(50)));
    /** Keyed creates at 200/s for `seconds`, each with a name and idempotency key of its own. */
    const keyedCreates = (prefix: string, seconds: number) =>
      load("CreateItem", creates(prefix, 200 * seconds), { rate: 200, seconds }, Array.from({ length: 200 * seconds }, (_, i) => ({ "idempotency-key": `${protocol}-${prefix}-${i}` })));
    await phase(coldCreate, 200, keyedCreates("created-cold", phaseSeconds));
    // As for cache hits: the create path, and the outbox relay and queue workers that each create sets to work,
    // reach their steady state before the measured phase.
    {
      await settle(probe, unrelayed);
      const r = await runLoad(keyedCreates("created-warm-up", warmSeconds));
      if (r.errors > 0) throw new Error(`${protocol} create warm-up: ${r.errors} of ${r.sent} requests failed (${r.firstError})`);
      console.log(`${protocol} create warm-up: ${r.ok} creates at 200 req/s over ${warmSeconds} s`);
    }
    await phase("CreateItem", 200, keyedCreates("created", phaseSeconds));
    const saturate = async (scenario: string, spec: LoadSpec) => {
      await settle(probe, unrelayed);
      const before = await (await fetch(`${baseUrl}/metrics`)).text();
      const [r, rss, cpuMs, stolenPct] = await observe(pid, (begin) => runLoad(spec, begin));
      const after = await (await fetch(`${baseUrl}/metrics`)).text();
      if (r.firstError !== undefined) console.error(`  first error: ${r.firstError}`);
      checkCodes(`${protocol} ${scenario}, 64 callers`, spec, r, (name, having) => metricSum(after, name, having) - metricSum(before, name, having));
      const ok = Math.max(1, r.ok);
      results.push({
        protocol, scenario, rate: "max", sent: 0, ok: 0, errors: r.errors, throughput: r.throughput, p50: NaN, p99: NaN, max: NaN, clientGcMaxMs: NaN,
        backendRssMb: rss, backendCpuMs: cpuMs / ok, clientCpuMs: r.cpuMsPerRequest, stolenPct,
      });
      console.log(`${protocol} ${scenario}, 64 callers: ${fmt(r.throughput, 0)} req/s`);
    };
    const callers = { callers: 64, seconds: quick ? 1 : 3 };
    await saturate("GetItem, cache hit", load("GetItem", hotBodies, callers));
    // The same server answering grpc.health.v1 Check: the per-RPC cost of the stack without the data layer.
    await saturate("Health/Check (stack baseline)", { ...load("GetItem", [encode(HealthCheckRequestSchema, { service: "" })], callers), path: "/grpc.health.v1.Health/Check" });
  }
  redis.disconnect();
  await pool.end();

  const backendPeak = pid === undefined ? 0 : peakRssOf(pid);
  /** The highest RSS sampled during a fixed-rate phase of the backend's (the "max" rows saturate it). */
  const peakAtRates = Math.max(0, ...results.filter((r) => r.rate !== "max" && r.backendRssMb > 0).map((r) => r.backendRssMb));
  const backendShare = pid === undefined ? undefined : memoryShareOf(pid);

  // The floor under CreateItem: the statement the backend sends for a keyed create, prepared, from pgbench,
  // with the backend stopped (its outbox relay and queue workers would otherwise work on pgbench's rows).
  await stopBackend(backend);
  // The same choice of installation as startLocalInfra's (PATH, then the highest /usr/lib/postgresql/<version>).
  const binaries = findPostgresBinaries({ searchPath: process.env.PATH ?? "" });
  let pgbenchSkipped = binaries === undefined ? "no PostgreSQL binaries were found" : undefined;
  const pgbenchTicks = machineTicks();
  const pgbench =
    binaries === undefined
      ? undefined
      : await pgbenchCreateItem(binaries.binDir, infra.databaseUrl, dataDir, 200, phaseSeconds).catch((err: unknown) => {
          pgbenchSkipped = `pgbench failed: ${err instanceof Error ? err.message : String(err)}`;
          return undefined;
        });
  if (pgbench === undefined) pgbenchSkipped ??= "pgbench was not found beside the PostgreSQL server binaries";
  else {
    results.push({
      protocol: "PostgreSQL", scenario: "CreateItem's statement alone, pgbench (floor)", rate: 200, sent: pgbench.ok + pgbench.errors, ok: pgbench.ok, errors: pgbench.errors,
      throughput: pgbench.throughput, p50: pgbench.p50, p99: pgbench.p99, max: pgbench.max, backendRssMb: 0, backendCpuMs: NaN, clientCpuMs: NaN, clientGcMaxMs: NaN,
      stolenPct: stolenSince(pgbenchTicks),
    });
    console.log(`PostgreSQL alone, CreateItem's statement @200/s: p50 ${fmt(pgbench.p50)} ms, p99 ${fmt(pgbench.p99)} ms (from the actual start: ${fmt(pgbench.p99FromStart)} ms)`);
  }
  const benchPeak = process.resourceUsage().maxRSS / 1024;
  const find = (protocol: string, scenario: string, rate: number | "max") =>
    results.find((r) => r.protocol === protocol && r.scenario === scenario && r.rate === rate)!;
  const baseline = find("ioredis", "GET (baseline)", 1000);

  const table = [
    "| Protocol | Scenario | Rate (req/s) | Sent | Errors | Throughput (req/s) | p50 (ms) | p99 (ms) | max (ms) | Backend CPU per request (ms) | Client CPU per request (ms) | Client GC pause, longest (ms) | CPU stolen by the hypervisor (%) | Backend RSS peak (MB) |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...results.map(
      (r) =>
        `| ${r.protocol} | ${r.scenario} | ${r.rate === "max" ? "max, 64 callers" : r.rate} | ${r.sent || "–"} | ${r.errors} | ${fmt(r.throughput, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${fmt(r.backendCpuMs, 3)} | ${fmt(r.clientCpuMs, 3)} | ${fmt(r.clientGcMaxMs, 1)} | ${fmt(r.stolenPct, 1)} | ${r.backendRssMb ? fmt(r.backendRssMb, 0) : "–"} |`,
    ),
  ];
  const verdict = (ok: boolean) => (ok ? "met" : "**missed**");
  const lines: string[] = [];
  for (const { protocol } of protocols) {
    const hit = find(protocol, "GetItem, cache hit", 1000);
    const cold = find(protocol, coldHit, 1000);
    const coldCreates = find(protocol, coldCreate, 200);
    const floor = find(protocol, "bare server, answers at once (floor)", 1000);
    const create = find(protocol, "CreateItem", 200);
    const hitMax = find(protocol, "GetItem, cache hit", "max");
    const stack = find(protocol, "Health/Check (stack baseline)", "max");
    lines.push(
      `- ${protocol}: cache-hit GetItem p99 ${fmt(hit.p99)} ms at 1,000 req/s once warm (target < 5 ms: ${verdict(hit.p99 < 5 && hit.errors === 0)}; ` +
        `before this protocol's ${warmSeconds} s warm-up, p99 was ${fmt(cold.p99)} ms); ` +
        `CreateItem p99 ${fmt(create.p99)} ms at 200 req/s once warm (target < 15 ms: ${verdict(create.p99 < 15 && create.errors === 0)}; ` +
        `before its ${warmSeconds} s warm-up of creates at that rate, p99 was ${fmt(coldCreates.p99)} ms). ` +
        `The load generator's own longest GC pause in those phases: ${fmt(hit.clientGcMaxMs, 1)} ms and ${fmt(create.clientGcMaxMs, 1)} ms; ` +
        `the same generator against a server that answers at once measured p50 ${fmt(floor.p50)} ms, p99 ${fmt(floor.p99)} ms at 1,000 req/s (the floor of this machine and client).`,
      `- ${protocol}: cache-hit GetItem against a plain ioredis GET in this process: p50 ${fmt(hit.p50 / baseline.p50, 1)}×, ` +
        `p99 ${fmt(hit.p99 / baseline.p99, 1)}× at 1,000 req/s; throughput with 64 callers ${fmt(hitMax.throughput, 0)} vs ${fmt(baselineMax, 0)} req/s ` +
        `(${fmt((hitMax.throughput / baselineMax) * 100, 1)} % of the baseline); backend CPU per hit ${fmt(hitMax.backendCpuMs, 3)} ms, ` +
        `${fmt(hitMax.backendCpuMs / baseline.clientCpuMs, 1)}× the client CPU of one GET, so one core serves at most about ${fmt(1000 / hitMax.backendCpuMs, 0)} hits/s; ` +
        `a health check through the same server costs ${fmt(stack.backendCpuMs, 3)} ms.`,
    );
  }
  const pgFloor = results.find((r) => r.protocol === "PostgreSQL");
  lines.push(
    pgFloor === undefined || pgbench === undefined
      ? `- PostgreSQL alone: skipped, ${pgbenchSkipped}.`
      : `- PostgreSQL alone, the floor under CreateItem: the very statement the backend sends for a keyed create (item, audit row, outbox ` +
          `event and idempotency claim; item-sql.ts), prepared, from pgbench (PostgreSQL's C load generator) with the backend stopped, ` +
          `10 connections as the backend's pool, \`-R 200\`: p50 ${fmt(pgFloor.p50)} ms, p99 ${fmt(pgFloor.p99)} ms, max ${fmt(pgFloor.max)} ms at 200 creates/s, ` +
          `${pgFloor.errors} failed. pgbench's -R arrivals are a Poisson process, burstier than the even schedule above, and those figures count ` +
          `from each transaction's scheduled start; from its actual start, the statement alone, p99 is ${fmt(pgbench.p99FromStart)} ms. ` +
          `Above this floor and the client's (the bare-server rows), CreateItem's latency is the backend's: validation, the pool and its policies, ` +
          `the cache's list generation, and the outbox relay and queue workers that run in the same process.`,
  );
  const viaH2load = results.find((r) => r.scenario === "GetItem, cache hit, h2load client");
  if (viaH2load !== undefined && h2loadExtra !== undefined) {
    const node = find("gRPC", "GetItem, cache hit", 1000);
    lines.push(
      `- gRPC with h2load as the load generator (nghttp2's, a C program: no GC pauses of its own), same backend, same run: cache-hit GetItem ` +
        `p50 ${fmt(viaH2load.p50)} ms, p99 ${fmt(viaH2load.p99)} ms, max ${fmt(viaH2load.max)} ms at 1,000 req/s (target < 5 ms: ${verdict(viaH2load.p99 < 5 && viaH2load.errors === 0)}), ` +
        `against p99 ${fmt(node.p99)} ms from the Node load generator. h2load (\`-c 1 -m 256 --rps 1000\`, one HTTP/2 connection, every request for one hot item) ` +
        `times a request from the moment it submits it to the end of its response; its sends lagged an even 1,000/s schedule by at most ` +
        `${fmt(h2loadExtra.sendLagMaxMs, 1)} ms, and counted from the due time, as the other rows are, p99 is ${fmt(h2loadExtra.p99FromDueMs)} ms. ` +
        `Its --rps timer sends in bursts (median ${fmt(h2loadExtra.medianBurst, 0)} requests within 50 µs of each other), a harsher load than an even 1,000/s. ` +
        `Every call's code is checked in the backend's metrics (GetItem, code ok: ${viaH2load.errors === 0 ? "all" : `all but ${viaH2load.errors}`}), ` +
        `and the body bytes received ${h2loadExtra.allCached ? "are" : "are **not**"} exactly those of as many cache-hit answers; its client CPU is h2load's.`,
    );
  } else if (h2load === undefined) {
    lines.push("- gRPC with h2load as the load generator: skipped, h2load is not on PATH (`apt-get install nghttp2-client`).");
  }
  lines.push(
    `- Peak RSS of the backend process under the loads the targets name (every fixed-rate phase, up to 1,000 req/s): ${fmt(peakAtRates, 0)} MB ` +
      `(target ≤ 150 MB: ${verdict(peakAtRates <= 150)}); over the whole run, with the saturated 64-caller phases, ${fmt(backendPeak, 0)} MB; ` +
      (backendShare === undefined
        ? ""
        : `at the end of the run its RSS was ${fmt(backendShare.rss, 0)} MB, of which ${fmt(backendShare.sharedClean, 0)} MB clean pages shared with other processes ` +
          `(mostly the node binary, ${fmt(backendShare.nodeBinary, 0)} MB, which every Node process on the machine maps once) and ${fmt(backendShare.private, 0)} MB private to it; `) +
      `benchmark client process (both protocols' clients, ioredis) ${fmt(benchPeak, 0)} MB.`,
  );
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const markdown = `## Data service

\`node bench/data-service.bench.ts\`${quick ? " --quick" : ""}: one backend process (as \`npm start\` runs it: the telemetry
preload and lib/server/service-node-flags.ts, \`${serviceNodeFlags.filter((f) => f.startsWith("--") && f !== "--import").join(" ")}\` and the compile cache) on a private PostgreSQL ${infra.postgres && "version" in infra.postgres ? infra.postgres.version : ""} (fsync and synchronous commit on) and a private
${infra.redis?.server ?? "Redis"}, loopback only. gRPC is HTTP/2 with binary messages; Connect is HTTP/1.1 with JSON. The load
comes from bench/load-generator.ts, a Node process of its own that sends pre-encoded requests on bare sockets: gRPC
framed by hand over HTTP/2 without TLS (one connection), Connect over HTTP/1.1 (keep-alive). It allocates a few
hundred bytes per request, so its own GC pauses stay near a millisecond (node:http2 and node:http, which it used
before, paused it for up to 13 ms); none of this process's heap or connect-es's client costs are in the figures.
Fixed rates are an open loop, paced evenly: each request is measured from the moment it was due. The "bare server"
rows are that generator against a server that answers at once: the floor of this machine and client. The
PostgreSQL row is the floor under CreateItem: its statement alone, from pgbench, with the backend stopped. Every
answer's code is checked in the backend's own count of calls by code, and each phase's cache hits or misses in its
cache metrics. Each protocol's cache hits at 1,000 req/s and creates at 200 req/s run twice: first cold, then after
a warm-up of ${warmSeconds} s of the same load, unmeasured, by when V8 has compiled the hot paths with its optimizing
compiler; the rows after a warm-up are the steady state of a running service (until then each request leaves
objects that outlive the young generation, and full collections come every few seconds). gRPC runs after Connect
in the same backend, so its cold rows are cold only for what the two protocols do not share. Cache misses read a different, never-read item each
time (${missRate} req/s); "max" rows are a closed loop of 64 callers for ${quick ? 1 : 3} s. Each phase starts once the
backend answers quickly again. "Backend CPU per request" is the backend process's user + system time divided by
the requests it answered, and "Client CPU" the same for the load generator; they depend much less than latency on
what else runs on the machine (runs on this VM still differ by up to a third). "CPU stolen" is the share of the
machine's CPU time that the hypervisor gave to other guests during the phase (steal, in /proc/stat): a virtual
CPU that loses a few percent loses it in bursts, which land in the tail latencies of that phase.

${table.join("\n")}

${lines.join("\n")}

Machine: ${cpus().length} CPUs (nproc; ${cpu}), ${fmt(totalmem() / 1024 ** 3, 1)} GiB memory, Node.js ${process.version}, ${new Date().toISOString().slice(0, 10)}.
Load average (1 min) ${fmt(loadBefore, 1)} before the run and ${fmt(loadavg()[0]!, 1)} after it: with ${cpus().length} CPUs, anything well above
${cpus().length} means other processes competed for the CPU and the latencies above are inflated by it.
`;
  console.log(`\n${markdown}`);
  writeFileSync(join(root, "bench/results/data-service.md"), markdown);
} finally {
  await stopBackend(backend);
  await infra.stop();
  await rm(dataDir, { recursive: true, force: true });
}
