// Benchmark of the gateway's REST transcoding, standalone: `node bench/gateway.bench.ts` (`--quick` for a smoke run).
//
// In one run, on loopback: a GET of one cached item
// - as REST through a real gateway process (`GET /v1/items/{id}`, JSON over HTTP/1.1 keep-alive, and over HTTP/2),
// - straight to the upstream over Connect (JSON over HTTP/1.1, the same wire format as the REST call),
// - straight to the upstream over gRPC (binary over HTTP/2).
// The upstream is a separate process serving DataService.GetItem from a fixed item held in memory: the cost of
// a cache hit without PostgreSQL or Valkey, so the figures isolate what the gateway adds. Each protocol gets a
// closed loop (fixed number of callers, as fast as answers come: throughput) and an open loop at a fixed rate
// below saturation (latency from the moment each request was due: what the gateway adds to p50/p99).
// Prints a markdown section and writes it to bench/results/gateway.md.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";
import { DataService } from "../gen/mesh/data/v1/data_pb.ts";
import { getFreePort } from "../lib/infra/free-port.ts";
import { createLogger } from "../lib/logging/create-logger.ts";
import { createMeshServer } from "../lib/server/mesh-server.ts";
import { serviceNodeFlags } from "../lib/server/service-node-flags.ts";

const root = resolve(import.meta.dirname, "..");

if (process.argv.includes("--upstream")) {
  await serveFixedItem(Number(process.argv[process.argv.indexOf("--upstream") + 1]));
} else {
  await main();
}

/** The upstream process: DataService.GetItem answering one fixed item, as a cache hit would. */
async function serveFixedItem(port: number): Promise<void> {
  const createTime = timestampFromDate(new Date("2026-01-01T00:00:00Z"));
  const server = createMeshServer({
    port,
    logger: createLogger({ service: "bench-upstream", instance: "bench-upstream", level: "silent" }),
    routes(router) {
      router.service(DataService, {
        getItem: (req) => ({
          item: {
            id: req.id,
            name: "benchmark item",
            value: { kind: { case: "structValue", value: { fields: { color: { kind: { case: "stringValue", value: "red" } } } } } },
            status: 1,
            version: 7n,
            createTime,
            updateTime: createTime,
          },
          cached: true,
        }),
      });
      router.service(Health, { check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }) });
    },
  });
  await server.listen();
  process.on("SIGTERM", () => void server.close(0).then(() => process.exit(0)));
}

interface Result {
  name: string;
  /** CPU time per request (ms), from /proc: the client (this process), the gateway and the upstream. */
  cpu: { client: number; gateway: number; upstream: number };
  callers: number;
  closedThroughput: number;
  closedP50: number;
  closedP99: number;
  rate: number;
  openP50: number;
  openP99: number;
  errors: number;
}

/** CPU time a process has used, in ms (utime + stime from /proc/<pid>/stat, in clock ticks of 10 ms). */
function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** `callers` loops calling as fast as answers come, for `seconds`. */
async function closedLoop(callers: number, seconds: number, call: () => Promise<unknown>, pids: { gateway?: number; upstream?: number } = {}) {
  const cpuBefore = { client: ownCpuMs(), gateway: cpuMsOf(pids.gateway), upstream: cpuMsOf(pids.upstream) };
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await call();
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const n = Math.max(1, latencies.length);
  const cpu = {
    client: (ownCpuMs() - cpuBefore.client) / n,
    gateway: (cpuMsOf(pids.gateway) - cpuBefore.gateway) / n,
    upstream: (cpuMsOf(pids.upstream) - cpuBefore.upstream) / n,
  };
  return { throughput: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors, cpu };
}

/** `rate` requests a second for `seconds` whatever the answers take, each timed from when it was due. */
async function openLoop(rate: number, seconds: number, call: () => Promise<unknown>) {
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      call().then(
        () => void latencies.push(performance.now() - due),
        () => void errors++,
      ),
    );
  }
  await Promise.all(pending);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}

function httpGet(agent: http.Agent, port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
        else {
          JSON.parse(Buffer.concat(chunks).toString());
          resolve();
        }
      });
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

function h2Get(session: http2.ClientHttp2Session, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":path": path });
    const chunks: Buffer[] = [];
    let status = 0;
    stream.on("response", (h) => (status = Number(h[":status"])));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      if (status !== 200) reject(new Error(`HTTP ${status}`));
      else {
        JSON.parse(Buffer.concat(chunks).toString());
        resolve();
      }
    });
    stream.on("error", reject);
  });
}

function startProcess(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "inherit", "inherit"] });
  process.on("exit", () => child.kill("SIGKILL"));
  return child;
}

async function untilServing(url: string): Promise<void> {
  const manager = new Http2SessionManager(url);
  const health = createClient(Health, createGrpcTransport({ baseUrl: url, sessionManager: manager }));
  try {
    for (let i = 0; i < 300; i++) {
      try {
        if ((await health.check({}, { timeoutMs: 1000 })).status === HealthCheckResponse_ServingStatus.SERVING) return;
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${url} did not serve`);
  } finally {
    manager.abort();
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const seconds = quick ? 1 : 5;
  const callers = 32;
  const rate = 200;
  const rounds = quick ? 1 : 3;
  const loadBefore = loadavg()[0]!;
  const upstreamPort = await getFreePort();
  const gatewayPort = await getFreePort();
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const upstream = startProcess([join(root, "bench/gateway.bench.ts"), "--upstream", String(upstreamPort)], {});
  const gateway = startProcess(
    [...serviceNodeFlags, "--import", join(root, "services/gateway/src/telemetry.ts"), join(root, "services/gateway/src/main.ts")],
    { PORT: String(gatewayPort), UPSTREAMS: upstreamUrl, INSTANCE_ID: "bench-gateway", LOG_LEVEL: "warn" },
  );
  try {
    await untilServing(upstreamUrl);
    await untilServing(gatewayUrl);

    const agent = new http.Agent({ keepAlive: true, maxSockets: callers });
    const session = http2.connect(gatewayUrl);
    const connectClient = createClient(DataService, createConnectTransport({ baseUrl: upstreamUrl, httpVersion: "1.1" }));
    const grpcManager = new Http2SessionManager(upstreamUrl);
    const grpcClient = createClient(DataService, createGrpcTransport({ baseUrl: upstreamUrl, sessionManager: grpcManager }));
    const id = "0b6a3bd4-1f0e-4c43-9e5e-6a1b8e2f0c11";
    const cases: Array<[string, () => Promise<unknown>]> = [
      ["REST via gateway (HTTP/1.1, JSON)", () => httpGet(agent, gatewayPort, `/v1/items/${id}`)],
      ["REST via gateway (HTTP/2, JSON)", () => h2Get(session, `/v1/items/${id}`)],
      ["Connect direct (HTTP/1.1, JSON)", () => connectClient.getItem({ id })],
      ["gRPC direct (HTTP/2, binary)", () => grpcClient.getItem({ id })],
    ];

    // Warm every path before measuring any: JIT in all three processes, connections, caches.
    for (const [, call] of cases) await closedLoop(callers, quick ? 0.5 : 2, call);
    // Closed loops in interleaved rounds, so that a burst of other load on the machine hits every path alike;
    // each path's median round counts, and its CPU per request over all rounds.
    const closedRounds = new Map<string, Array<Awaited<ReturnType<typeof closedLoop>>>>();
    for (let round = 0; round < rounds; round++) {
      for (const [name, call] of cases) {
        const closed = await closedLoop(callers, seconds, call, { gateway: gateway.pid, upstream: upstream.pid });
        closedRounds.set(name, [...(closedRounds.get(name) ?? []), closed]);
        console.log(`round ${round + 1}, ${name}: ${closed.throughput.toFixed(0)} req/s`);
      }
    }
    const results: Result[] = [];
    for (const [name, call] of cases) {
      const all = closedRounds.get(name)!;
      const median = [...all].sort((a, b) => a.throughput - b.throughput)[Math.floor(all.length / 2)]!;
      const cpu = {
        client: all.reduce((sum, r) => sum + r.cpu.client, 0) / all.length,
        gateway: all.reduce((sum, r) => sum + r.cpu.gateway, 0) / all.length,
        upstream: all.reduce((sum, r) => sum + r.cpu.upstream, 0) / all.length,
      };
      const open = await openLoop(rate, seconds, call);
      results.push({
        name,
        cpu,
        callers,
        closedThroughput: median.throughput,
        closedP50: median.p50,
        closedP99: median.p99,
        rate,
        openP50: open.p50,
        openP99: open.p99,
        errors: all.reduce((sum, r) => sum + r.errors, 0) + open.errors,
      });
      console.log(`${name}: at ${rate} req/s p50 ${open.p50.toFixed(2)} ms, p99 ${open.p99.toFixed(2)} ms`);
    }
    agent.destroy();
    session.close();
    grpcManager.abort();
    writeReport(results, { quick, seconds, callers, rate, rounds, load: [loadBefore, loadavg()[0]!] });
  } finally {
    gateway.kill("SIGTERM");
    upstream.kill("SIGTERM");
  }
}

function writeReport(
  results: Result[],
  run: { quick: boolean; seconds: number; callers: number; rate: number; rounds: number; load: [number, number] },
): void {
  const byName = (prefix: string) => results.find((r) => r.name.startsWith(prefix))!;
  const rest = byName("REST via gateway (HTTP/1.1");
  const rest2 = byName("REST via gateway (HTTP/2");
  const connect = byName("Connect direct");
  const grpc = byName("gRPC direct");
  const f = (n: number) => n.toFixed(2);
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(0)} %`;
  const verdict = (ratio: number) => (ratio >= 0.7 ? "met" : "**missed**");
  const us = (ms: number) => (ms * 1000).toFixed(0);
  const cpuOf = (r: Result) => r.cpu.client + r.cpu.gateway + r.cpu.upstream;
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.closedThroughput.toFixed(0)} | ${f(r.closedP50)} | ${f(r.closedP99)} | ${f(r.openP50)} | ${f(r.openP99)} | ` +
      `${us(r.cpu.client)} / ${us(r.cpu.gateway)} / ${us(r.cpu.upstream)} | ${r.errors} |`,
  );
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const text = `## Gateway: REST transcoding

\`node bench/gateway.bench.ts\`${run.quick ? " --quick" : ""}: GET of one cached item as REST through a gateway process
(\`GET /v1/items/{id}\` → DataService.GetItem over gRPC on the upstream's HTTP/2 connection → proto3 JSON), against
the same call straight to the upstream over Connect (JSON, HTTP/1.1) and gRPC (binary, HTTP/2). The upstream is a
separate process answering GetItem from a fixed in-memory item (a cache hit without PostgreSQL or Valkey: the real
data service was not in the tree yet, and this isolates what the gateway adds). Three processes (client, gateway,
upstream) share the machine's CPUs; the direct rows use two. Loopback only. Every path is warmed up first. Closed
loop: ${run.callers} callers, ${run.rounds} interleaved round(s) of ${run.seconds} s per path, the median round shown; CPU per request
(from /proc, averaged over the rounds) depends less on what else runs on the machine than latency does, but not at all is too strong: a busy machine adds cache misses and context switches, and runs on this VM differ by up to a third. Open loop: ${run.rate} req/s for ${run.seconds} s, each request timed from when it was due.

| Path | Throughput, ${run.callers} callers (req/s) | p50 (ms) | p99 (ms) | p50 at ${run.rate} req/s (ms) | p99 at ${run.rate} req/s (ms) | CPU per request: client / gateway / upstream (µs) | Errors |
|---|---:|---:|---:|---:|---:|---:|---:|
${rows.join("\n")}

- Throughput of REST through the gateway against direct Connect: ${pct(rest.closedThroughput, connect.closedThroughput)} (HTTP/1.1), ${pct(rest2.closedThroughput, connect.closedThroughput)} (REST over HTTP/2); target ≥ 70 %: ${verdict(rest.closedThroughput / connect.closedThroughput)}.
- Against direct gRPC: ${pct(rest.closedThroughput, grpc.closedThroughput)} (HTTP/1.1), ${pct(rest2.closedThroughput, grpc.closedThroughput)} (HTTP/2); target ≥ 70 %: ${verdict(rest.closedThroughput / grpc.closedThroughput)}.
- CPU per request, all processes (steadier than latency under other load, not immune to it): REST via the gateway ${us(cpuOf(rest))} µs (the gateway's share ${us(rest.cpu.gateway)} µs), direct Connect ${us(cpuOf(connect))} µs, direct gRPC ${us(cpuOf(grpc))} µs. On CPUs kept busy by these processes alone, throughput goes as the inverse: ${pct(cpuOf(connect), cpuOf(rest))} of direct Connect, ${pct(cpuOf(grpc), cpuOf(rest))} of direct gRPC. The client's share differs by path: the REST rows use Node's plain HTTP clients, the direct rows connect-es clients, which cost more per call.
- Latency the gateway adds at ${run.rate} req/s (REST HTTP/1.1 minus direct Connect): p50 ${f(rest.openP50 - connect.openP50)} ms, p99 ${f(rest.openP99 - connect.openP99)} ms; minus direct gRPC: p50 ${f(rest.openP50 - grpc.openP50)} ms, p99 ${f(rest.openP99 - grpc.openP99)} ms.

Load average (1 min) when the run started and ended: ${run.load[0].toFixed(2)}, ${run.load[1].toFixed(2)}${run.load[0] > availableParallelism() / 2 || run.load[1] > availableParallelism() / 2 ? " — the machine was busy with other work: throughput and latency columns are noisy, the CPU figures less so" : ""}.

Machine: ${availableParallelism()} CPUs (nproc; ${cpu}), ${(totalmem() / 1024 ** 3).toFixed(1)} GiB memory, Node.js ${process.version}, ${new Date().toISOString().slice(0, 10)}.
`;
  console.log(`\n${text}`);
  writeFileSync(join(root, "bench/results/gateway.md"), text);
}
