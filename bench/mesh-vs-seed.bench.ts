// The mesh against the seed stack, standalone: `node bench/mesh-vs-seed.bench.ts` (`--quick` for a smoke run).
//
// In one run, on loopback, under the same load generator (bench/load-generator.ts, HTTP/1.1 keep-alive on bare sockets):
// - the mesh: REST `GET /v1/items/{id}` of a cached item through a real gateway process to two real backend
//   processes (DataService.GetItem, Valkey read-through cache hit), instances from a real control plane with
//   policy LEAST_REQUEST, as npm start runs them (telemetry preload, no exporter);
// - the seed stack: nginx (`least_conn`, upstream keep-alive) in front of two Express processes doing one Valkey
//   GET of the same item's JSON, built only as this baseline.
// Both share one private PostgreSQL and redis-server. Closed loop (fixed callers as fast as answers come:
// throughput, p50, p99) in interleaved rounds; then an open loop at a fixed rate below both saturation points
// (latency from when each request was due). Writes bench/results/mesh-vs-seed.md.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { LoadBalancing, PolicyService, ServicePolicySchema } from "../gen/mesh/control/v1/policy_pb.ts";
import { getFreePort } from "../lib/infra/free-port.ts";
import { findExecutable } from "../lib/infra/find-executable.ts";
import { startLocalInfra } from "../lib/infra/local-infra.ts";
import { startService, stopAllServices } from "../test/spawn-service.ts";
import { runLoad, type LoadResult, type LoadSpec } from "./load-generator.ts";

const root = resolve(import.meta.dirname, "..");
const quick = process.argv.includes("--quick");
const seconds = quick ? 1 : 5;
const rounds = quick ? 1 : 3;
const callers = 32;
const rate = 300;

/** The load generator in a process of its own (bench/load-generator.ts), GETting `path` on `port`. */
function load(port: number, path: string, shape: LoadSpec["load"], onWarm?: () => void): Promise<LoadResult> {
  return runLoad({ protocol: "http1", url: `http://127.0.0.1:${port}`, method: "GET", path, load: shape, connections: callers }, onWarm);
}

function node(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  process.on("exit", () => child.kill("SIGKILL"));
  return child;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up`);
}

const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "–");

/** A process and its children (nginx's master and its worker), from /proc. */
function withChildren(pid: number): number[] {
  const children = readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return Number(readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]!.split(" ")[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [pid, ...children];
}

/** User + system CPU time of a process so far, in ms (clock ticks of 10 ms), from /proc. */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function main(): Promise<void> {
  const nginx = findExecutable(["nginx"], `${process.env.PATH ?? ""}:/usr/sbin:/sbin`);
  if (!nginx) {
    console.error("mesh-vs-seed: nginx is not installed (apt-get install -y nginx); it is the seed stack's load balancer.");
    process.exit(1);
  }
  const nginxVersion = spawnSync(nginx, ["-v"], { encoding: "utf8" }).stderr.trim().replace(/^nginx version: /, "");
  const dir = mkdtempSync(join(tmpdir(), "mesh-vs-seed-"));
  // PostgreSQL runs as its own user when this runs as root: it must be able to reach its data folder.
  chmodSync(dir, 0o755);
  const loadBefore = loadavg()[0]!;
  const infra = await startLocalInfra({ dataDir: join(dir, "infra"), database: "mesh_bench", allowPglite: false });
  const children: ChildProcess[] = [];
  try {
    // The mesh.
    const control = await startService({ name: "control", env: { INSTANCE_ID: "control-bench", DATABASE_URL: infra.databaseUrl, LOG_LEVEL: "warn" } });
    const backendPids: number[] = [];
    for (const id of ["backend-1", "backend-2"]) {
      const backend = await startService({
        name: "backend",
        env: { INSTANCE_ID: id, DATABASE_URL: infra.databaseUrl, REDIS_URL: infra.redisUrl, CONTROL_URL: control.url, LOG_LEVEL: "warn" },
      }, 60_000);
      backendPids.push(backend.pid);
    }
    await createClient(PolicyService, createGrpcTransport({ baseUrl: control.url })).setPolicy({
      policy: create(ServicePolicySchema, { service: "backend", loadBalancing: LoadBalancing.LEAST_REQUEST }),
    });
    const gateway = await startService({ name: "gateway", env: { INSTANCE_ID: "gateway-bench", CONTROL_URL: control.url, LOG_LEVEL: "warn" } });
    let item: { item: { id: string } } | undefined;
    await until(async () => {
      const res = await fetch(`${gateway.url}/v1/items`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "benchmark item", value: { color: "red" } }) });
      if (res.status !== 200) return false;
      item = (await res.json()) as { item: { id: string } };
      return true;
    }, "the mesh");
    const id = item!.item.id;
    const path = `/v1/items/${id}`;
    const meshJson = await (await fetch(`${gateway.url}${path}`)).text();

    // The seed stack: the same item's JSON in Valkey, two Express backends, nginx least_conn.
    const redis = new Redis(infra.redisUrl);
    await redis.set(`seed:item:${id}`, meshJson);
    redis.disconnect();
    const expressPorts = [await getFreePort(), await getFreePort()];
    for (const port of expressPorts) children.push(node([join(root, "bench/seed/express-item-server.ts"), String(port), infra.redisUrl, "seed:item:"]));
    const expressPids = children.map((c) => c.pid!);
    const nginxPort = await getFreePort();
    writeFileSync(
      join(dir, "nginx.conf"),
      `${process.getuid?.() === 0 ? "user root;\n" : ""}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream seed {
    least_conn;
${expressPorts.map((p) => `    server 127.0.0.1:${p};`).join("\n")}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://seed;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
    );
    const nginxProcess = spawn(nginx, ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: ["ignore", "ignore", "inherit"] });
    children.push(nginxProcess);
    process.on("exit", () => nginxProcess.kill("SIGKILL"));
    await until(async () => (await fetch(`http://127.0.0.1:${nginxPort}${path}`)).status === 200, "the seed stack");

    // The floor: the cheapest two-hop Node.js stack doing the same hops (bench/seed/two-hop-floor.ts).
    const floorPorts = [await getFreePort(), await getFreePort()];
    const floorServers = floorPorts.map((port) => node([join(root, "bench/seed/two-hop-floor.ts"), "server", String(port), infra.redisUrl, "seed:item:"]));
    const floorProxyPort = await getFreePort();
    const floorProxy = node([join(root, "bench/seed/two-hop-floor.ts"), "proxy", String(floorProxyPort), ...floorPorts.map((p) => `http://127.0.0.1:${p}`)]);
    children.push(...floorServers, floorProxy);
    await until(async () => (await fetch(`http://127.0.0.1:${floorProxyPort}${path}`)).status === 200, "the two-hop floor");

    const cases: Array<[string, (shape: LoadSpec["load"], onWarm?: () => void) => Promise<LoadResult>]> = [
      ["mesh: REST via gateway → 2 backends (least-request)", (shape, onWarm) => load(gateway.port, path, shape, onWarm)],
      ["seed: nginx least_conn → 2 Express", (shape, onWarm) => load(nginxPort, path, shape, onWarm)],
      ["floor: bare Node proxy → 2 bare Node gRPC servers", (shape, onWarm) => load(floorProxyPort, path, shape, onWarm)],
    ];
    // CPU per request of each stack's own processes (not Valkey, not the load generator), over the closed-loop
    // rounds: it depends much less than throughput and latency on what else the machine runs.
    const parts: Record<string, Array<[string, number[]]>> = {
      [cases[0]![0]]: [["gateway", [gateway.pid]], ["backends", backendPids]],
      [cases[1]![0]]: [["nginx", withChildren(nginxProcess.pid!)], ["Express", expressPids]],
      [cases[2]![0]]: [["proxy", [floorProxy.pid!]], ["servers", floorServers.map((c) => c.pid!)]],
    };
    const cpuSpent = new Map<string, number[]>();
    const answered = new Map<string, number>();
    const cpuNow = (name: string) => parts[name]!.map(([, pids]) => pids.reduce((sum, pid) => sum + cpuMsOf(pid), 0));
    for (const [, call] of cases) await call({ callers, seconds: quick ? 0.5 : 3 });
    const results = new Map<string, LoadResult[]>();
    for (let round = 0; round < rounds; round++) {
      for (const [name, call] of cases) {
        // From the end of the generator's warm-up, per request answered in the measured run.
        let before = cpuNow(name);
        const result = await call({ callers, seconds }, () => (before = cpuNow(name)));
        const after = cpuNow(name);
        const spent = cpuSpent.get(name) ?? after.map(() => 0);
        cpuSpent.set(name, spent.map((ms, i) => ms + after[i]! - before[i]!));
        answered.set(name, (answered.get(name) ?? 0) + result.ok);
        results.set(name, [...(results.get(name) ?? []), result]);
        console.log(`round ${round + 1}, ${name}: ${result.throughput.toFixed(0)} req/s, p99 ${result.p99.toFixed(2)} ms`);
      }
    }
    const rows = [];
    for (const [name, call] of cases) {
      const all = results.get(name)!;
      const median = [...all].sort((a, b) => a.throughput - b.throughput)[Math.floor(all.length / 2)]!;
      const open = await call({ rate, seconds });
      rows.push({ name, median, open, errors: all.reduce((s, r) => s + r.errors, 0) + open.errors });
    }
    const [mesh, seed, floor] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
    const ratio = mesh.median.throughput / seed.median.throughput;
    const cpuPerRequest = (name: string) => cpuSpent.get(name)!.map((ms) => (ms * 1000) / answered.get(name)!);
    const cpuLine = (name: string) => {
      const each = cpuPerRequest(name);
      return `${each.reduce((a, b) => a + b, 0).toFixed(0)} µs (${parts[name]!.map(([part], i) => `${part} ${each[i]!.toFixed(0)}`).join(", ")})`;
    };
    const cpuTotal = (name: string) => cpuPerRequest(name).reduce((a, b) => a + b, 0);
    const loadAfter = loadavg()[0]!;
    const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
    const markdown = `## Mesh against the seed stack

\`node bench/mesh-vs-seed.bench.ts\`: a REST GET of one cached item, on loopback, under one load generator
(bench/load-generator.ts: a Node process of its own, HTTP/1.1 keep-alive, ${callers} callers). **Mesh:** a gateway process (REST transcoding, least-request
balancing, retries, breakers, bulkheads; auth and rate limits off, as the seed stack has none) to two backend
processes (DataService.GetItem, a Valkey read-through cache hit), instances from a control plane. **Seed stack:**
nginx ${nginxVersion} (\`least_conn\`, upstream keep-alive, 1 worker) in front of two Express ${readPackageVersion("express")} processes
doing one Valkey GET of the same item's JSON. Closed loop: ${rounds} interleaved round(s) of ${seconds} s each, the median
round shown; open loop: ${rate} req/s for ${seconds} s, each request timed from when it was due.

| Stack | Throughput (req/s) | p50 (ms) | p99 (ms) | p50 at ${rate} req/s (ms) | p99 at ${rate} req/s (ms) | Errors |
|---|---:|---:|---:|---:|---:|---:|
${rows.map((r) => `| ${r.name} | ${r.median.throughput.toFixed(0)} | ${fixed(r.median.p50)} | ${fixed(r.median.p99)} | ${fixed(r.open.p50)} | ${fixed(r.open.p99)} | ${r.errors} |`).join("\n")}

- Throughput of the mesh against the seed stack: ${(ratio * 100).toFixed(0)} % (target ≥ 100 %: ${ratio >= 1 ? "met" : "**missed**"}).
- p99 with ${callers} callers: mesh ${fixed(mesh.median.p99)} ms, seed ${fixed(seed.median.p99)} ms (target: no worse: ${mesh.median.p99 <= seed.median.p99 ? "met" : "**missed**"}); at ${rate} req/s: mesh ${fixed(mesh.open.p99)} ms, seed ${fixed(seed.open.p99)} ms (${mesh.open.p99 <= seed.open.p99 ? "met" : "**missed**"}).
- CPU per request of each stack's own processes (from /proc, over the closed-loop rounds; Valkey and the load
  generator not counted; other load on the machine moves it much less than throughput): mesh ${cpuLine(mesh.name)}, seed ${cpuLine(seed.name)}. On CPUs that these processes
  alone keep busy, throughput goes as its inverse: the mesh would reach ${((cpuTotal(seed.name) / cpuTotal(mesh.name)) * 100).toFixed(0)} % of the seed stack.
- The mesh path has two Node.js hops (gateway, backend with its interceptors: tracing, metrics, faults, cache), the seed
  stack one (nginx is C); all processes share the machine's ${cpus().length} CPUs with the load generator.
- The floor (bench/seed/two-hop-floor.ts) is the cheapest Node.js stack with the mesh's hops: a bare HTTP/1.1 → gRPC
  proxy and two bare HTTP/2 servers doing one Valkey GET, without codecs, validation, metrics, tracing, retries,
  breakers or auth. It reached ${((floor.median.throughput / seed.median.throughput) * 100).toFixed(0)} % of the seed stack's throughput at ${cpuLine(floor.name)} CPU per request: a
  gateway and backend written in Node.js cost at least that, so on this machine no such design reaches 100 %. The
  mesh reached ${((mesh.median.throughput / floor.median.throughput) * 100).toFixed(0)} % of the floor.

Load average (1 min) when the run started and ended: ${loadBefore.toFixed(2)}, ${loadAfter.toFixed(2)}.

Machine: ${cpus().length} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Node.js ${process.version}, ${new Date().toISOString().slice(0, 10)}.
`;
    console.log(`\n${markdown}`);
    if (!quick) writeFileSync(join(root, "bench/results/mesh-vs-seed.md"), markdown);
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await stopAllServices();
    await infra.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function readPackageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
}

await main();
process.exit(0);
