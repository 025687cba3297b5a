// Queue benchmark: connect-mesh's queue (through its RPC API on a real server process) against BullMQ, on the
// same private Valkey/Redis, in the same run. Loopback only, bounded in count and time.
//   node bench/queue.bench.ts            runs everything and writes bench/results/queue.md
//   QUEUE_BENCH_SCALE=0.2 node bench/queue.bench.ts   a smaller run
// The same file is also the two child processes: `--serve <redis url>` (the queue service on
// startMeshService) and `--bullmq-worker <redis url> <queue> <count>` (a BullMQ worker).
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { create, fromJson } from "@bufbuild/protobuf";
import { durationFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";
import { pino } from "pino";
import { NewMessageSchema, PurgeScope, QueueService, type NewMessage } from "../gen/mesh/queue/v1/queue_pb.ts";
import { startLocalRedis } from "../lib/infra/local-redis.ts";
import { createLogger } from "../lib/logging/create-logger.ts";
import { startMeshService } from "../lib/server/start-mesh-service.ts";
import { readQueueConfig } from "../services/backend/src/queue/queue-config.ts";
import { createQueueModule } from "../services/backend/src/queue/queue-module.ts";
import { createTempDir } from "../test/temp-dir.ts";

const root = resolve(import.meta.dirname, "..");
const scale = Number(process.env.QUEUE_BENCH_SCALE ?? 1);
const counts = {
  single: Math.round(10_000 * scale),
  batch: Math.round(100_000 * scale),
  endToEnd: Math.round(100_000 * scale),
};
const singleConcurrency = 64;
const producerConcurrency = 4;
const phaseTimeoutMs = 180_000;
const rounds = Number(process.env.QUEUE_BENCH_ROUNDS ?? 2);

/** The payload of message i; one in ten asks to fail on its first delivery. */
const payloadOf = (i: number) => ({ i, fail: i % 10 === 0, note: "connect-mesh queue benchmark" });

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
}

function withTimeout<T>(what: string, work: Promise<T>): Promise<T> {
  console.log(`- ${what}`);
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${phaseTimeoutMs / 1000} s`)), phaseTimeoutMs);
  });
  return Promise.race([work, limit])
    .catch((err: unknown) => {
      throw new Error(`${what} failed`, { cause: err });
    })
    .finally(() => clearTimeout(timer));
}

/** Runs `total` tasks, `concurrency` at a time. */
async function pool(total: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

function spawnChild(args: string[]): { child: ChildProcess; line: (pattern: RegExp) => Promise<string> } {
  const child = spawn(process.execPath, [...(process.env.QUEUE_BENCH_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.QUEUE_BENCH_PROFILE_DIR}`] : []), join(root, "bench", "queue.bench.ts"), ...args], { stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  const watchers = new Set<() => void>();
  createInterface({ input: child.stdout! }).on("line", (l) => {
    lines.push(l);
    for (const w of watchers) w();
  });
  return {
    child,
    line: (pattern) =>
      withTimeout(
        `waiting for ${pattern}`,
        new Promise<string>((resolveLine, reject) => {
          const check = () => {
            const found = lines.find((l) => pattern.test(l));
            if (found !== undefined) {
              watchers.delete(check);
              resolveLine(found);
            }
          };
          child.once("exit", (code) => reject(new Error(`child ${args[0]} exited (${code}) before printing ${pattern}`)));
          watchers.add(check);
          check();
        }),
      ),
  };
}

// ---- child: the queue service on a real server ------------------------------------------------------------
async function serve(redisUrl: string): Promise<void> {
  // Synchronous, so that an error logged just before the benchmark ends it is not lost.
  const logger = createLogger({ service: "backend", instance: "bench", level: "warn", destination: pino.destination({ dest: 2, sync: true }) as unknown as NodeJS.WritableStream });
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await new Promise((r) => redis.once("ready", r));
  const unusedPool = new pg.Pool({ max: 1 });
  const config = readQueueConfig({ OUTBOX_RELAY_ENABLED: "false", QUEUE_WORKERS_ENABLED: "false" });
  const queue = createQueueModule({ redis, pool: unusedPool, logger, config });
  const mesh = await startMeshService({
    service: "backend",
    instanceId: "bench",
    version: "bench",
    host: "127.0.0.1",
    port: 0,
    logger,
    routes: (router) => router.service(QueueService, queue.service),
  });
  queue.registerMetrics(mesh.registry);
  queue.start();
  console.log(`serving ${mesh.server.url}`);
  process.stdin.on("close", () => process.exit(0));
  process.stdin.resume();
}

// ---- child: a BullMQ worker ---------------------------------------------------------------------------------
async function bullmqWorker(redisUrl: string, name: string, total: number): Promise<void> {
  const { hostname, port } = new URL(redisUrl);
  let completed = 0;
  const worker = new Worker(
    name,
    async (job) => {
      if ((job.data as { fail: boolean }).fail && job.attemptsMade === 0) throw new Error("fails once");
    },
    { connection: { host: hostname, port: Number(port), maxRetriesPerRequest: null }, concurrency: 100, autorun: false },
  );
  worker.on("completed", () => {
    completed++;
    if (completed === total) console.log("done");
  });
  worker.on("error", () => {});
  process.stdin.on("close", () => process.exit(0));
  process.stdin.resume();
  void worker.run();
  await worker.waitUntilReady();
  console.log("ready");
}

// ---- connect-mesh through RPC -------------------------------------------------------------------------------
/** Messages with the JSON payload of messages from..from+n. */
function newMessages(from: number, n: number): NewMessage[] {
  return Array.from({ length: n }, (_, k) => create(NewMessageSchema, { type: "bench", payload: fromJson(ValueSchema, payloadOf(from + k)), maxAttempts: 3 }));
}

/** End to end with Lease batches (long-poll, up to 500 a call) and batched acks and nacks: three consumers. */
async function meshEndToEndBatched(client: Client<typeof QueueService>, queue: string, total: number): Promise<number> {
  let acked = 0;
  let finished = 0;
  const done = new AbortController();
  const started = performance.now();
  const consumer = async () => {
    while (!done.signal.aborted) {
      const { messages } = await client
        .lease({ queue, maxMessages: 500, waitTime: durationFromMs(1000), consumer: "bench" }, { signal: done.signal })
        .catch(() => ({ messages: [] }));
      const acks: string[] = [];
      const nacks: string[] = [];
      for (const leased of messages) {
        const payload = leased.message!.payload!.kind;
        const fail = payload.case === "structValue" && payload.value.fields.fail?.kind.value === true;
        (fail && leased.message!.attempts === 1 ? nacks : acks).push(leased.leaseToken);
      }
      await Promise.all([
        acks.length === 0
          ? undefined
          : client.ack({ queue, leaseTokens: acks }).then((res) => {
              acked += res.acknowledgedCount;
              if (acked >= total && finished === 0) {
                finished = performance.now();
                done.abort();
              }
            }),
        nacks.length === 0 ? undefined : client.nack({ queue, leaseTokens: nacks, error: "fails once", retryDelay: durationFromMs(0) }),
      ]);
    }
  };
  const consumers = [consumer(), consumer(), consumer()];
  await produce(client, queue, total);
  await withTimeout("connect-mesh end to end (batched)", Promise.all(consumers));
  return total / ((finished - started) / 1000);
}

async function produce(client: Client<typeof QueueService>, queue: string, total: number): Promise<void> {
  let produced = 0;
  await pool(Math.ceil(total / 1000), producerConcurrency, async () => {
    const n = Math.min(1000, total - produced);
    const from = produced;
    produced += n;
    await client.batchEnqueue({ queue, messages: newMessages(from, n) });
  });
}

/** End to end with two Consume streams (max_in_flight 1,000 each), acks and nacks batched up to 250 tokens. */
async function meshEndToEndStreaming(client: Client<typeof QueueService>, queue: string, total: number): Promise<number> {
  const controller = new AbortController();
  let acked = 0;
  let finish!: () => void;
  const allAcked = new Promise<void>((r) => (finish = r));
  const started = performance.now();

  const consumer = async () => {
    const acks: string[] = [];
    const nacks: string[] = [];
    let flushing = Promise.resolve();
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      const a = acks.splice(0);
      const n = nacks.splice(0);
      flushing = flushing.then(async () => {
        const calls: Promise<unknown>[] = [];
        if (a.length > 0) {
          calls.push(
            client.ack({ queue, leaseTokens: a }).then((res) => {
              acked += res.acknowledgedCount;
              if (acked >= total) finish();
            }),
          );
        }
        if (n.length > 0) calls.push(client.nack({ queue, leaseTokens: n, error: "fails once", retryDelay: durationFromMs(0) }));
        await Promise.all(calls);
      });
    };
    try {
      for await (const res of client.consume({ queue, maxInFlight: 1000, consumer: "bench" }, { signal: controller.signal })) {
        const leased = res.message!;
        const payload = leased.message!.payload!.kind;
        const fail = payload.case === "structValue" && payload.value.fields.fail?.kind.value === true;
        if (fail && leased.message!.attempts === 1) nacks.push(leased.leaseToken);
        else acks.push(leased.leaseToken);
        if (acks.length + nacks.length >= 250) flush();
        else if (!scheduled) {
          scheduled = true;
          setTimeout(flush, 5);
        }
      }
    } catch {
      // aborted at the end
    }
  };
  const consumers = [consumer(), consumer()];
  await produce(client, queue, total);
  await withTimeout("connect-mesh end to end (streaming)", allAcked);
  const seconds = (performance.now() - started) / 1000;
  controller.abort();
  await Promise.all(consumers);
  return total / seconds;
}

interface Figures {
  single: number;
  batch: number;
  memoryPer100k: number;
  endToEnd: number;
  /** CPU of every process involved (client, server or worker, Valkey), ms per 1,000 messages end to end. */
  endToEndCpu: number;
  streaming: number;
  streamingCpu: number;
  rss: number;
}

/** CPU time (user + system) of a process so far, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
}

/** Runs `work` and returns its result with the CPU ms that the given processes and this one spent meanwhile. */
async function withCpu<T>(pids: readonly number[], work: () => Promise<T>): Promise<{ result: T; cpu: number }> {
  const before = pids.map(cpuMs);
  const own = process.cpuUsage();
  const result = await work();
  const used = process.cpuUsage(own);
  const others = pids.reduce((sum, pid, i) => sum + cpuMs(pid) - before[i]!, 0);
  return { result, cpu: others + (used.user + used.system) / 1000 };
}

async function benchMesh(redisUrl: string, admin: Redis, redisPid: number): Promise<Figures> {
  const server = spawnChild(["--serve", redisUrl]);
  const url = (await server.line(/^serving /)).slice("serving ".length);
  const sessions = new Http2SessionManager(url);
  // No compression: loopback, and BullMQ does not compress either.
  const client = createClient(QueueService, createGrpcTransport({ baseUrl: url, sessionManager: sessions, acceptCompression: [] }));

  let t = performance.now();
  await withTimeout("connect-mesh: single enqueue", pool(counts.single, singleConcurrency, (i) => client.enqueue({ queue: "single", message: newMessages(i, 1)[0] })));
  const single = counts.single / ((performance.now() - t) / 1000);
  await client.purgeQueue({ queue: "single", scope: PurgeScope.ALL });

  const before = await usedMemory(admin);
  t = performance.now();
  await withTimeout("connect-mesh: batch enqueue", produce(client, "batch", counts.batch));
  const batch = counts.batch / ((performance.now() - t) / 1000);
  const memoryPer100k = ((await usedMemory(admin)) - before) * (100_000 / counts.batch);
  await client.purgeQueue({ queue: "batch", scope: PurgeScope.ALL });

  const pids = [server.child.pid!, redisPid];
  const batched = await withCpu(pids, () => withTimeout("connect-mesh: end to end, batched", meshEndToEndBatched(client, "e2e-batched", counts.endToEnd)));
  const streamed = await withCpu(pids, () => withTimeout("connect-mesh: end to end, streaming", meshEndToEndStreaming(client, "e2e-streaming", counts.endToEnd)));
  const rss = peakRssMiB(server.child.pid!);
  sessions.abort();
  server.child.stdin!.end();
  await new Promise((r) => server.child.once("exit", r));
  return {
    single,
    batch,
    memoryPer100k,
    endToEnd: batched.result,
    endToEndCpu: (batched.cpu / counts.endToEnd) * 1000,
    streaming: streamed.result,
    streamingCpu: (streamed.cpu / counts.endToEnd) * 1000,
    rss,
  };
}

// ---- BullMQ ---------------------------------------------------------------------------------------------------
async function benchBullmq(redisUrl: string, admin: Redis, redisPid: number): Promise<Figures> {
  const { hostname, port } = new URL(redisUrl);
  const connection = { host: hostname, port: Number(port), maxRetriesPerRequest: null };
  const jobOptions = { attempts: 2, removeOnComplete: true, removeOnFail: true };
  const jobs = (from: number, n: number) => Array.from({ length: n }, (_, k) => ({ name: "bench", data: payloadOf(from + k), opts: jobOptions }));
  const addAll = async (queue: Queue, total: number) => {
    let produced = 0;
    await pool(Math.ceil(total / 1000), producerConcurrency, async () => {
      const from = produced;
      const n = Math.min(1000, total - produced);
      produced += n;
      await queue.addBulk(jobs(from, n));
    });
  };

  const singleQueue = new Queue("single", { connection });
  let t = performance.now();
  await withTimeout("bullmq: single add", pool(counts.single, singleConcurrency, (i) => singleQueue.add("bench", payloadOf(i), jobOptions)));
  const single = counts.single / ((performance.now() - t) / 1000);
  await singleQueue.obliterate({ force: true });
  await singleQueue.close();

  const batchQueue = new Queue("batch", { connection });
  const before = await usedMemory(admin);
  t = performance.now();
  await withTimeout("bullmq: addBulk", addAll(batchQueue, counts.batch));
  const batch = counts.batch / ((performance.now() - t) / 1000);
  const memoryPer100k = ((await usedMemory(admin)) - before) * (100_000 / counts.batch);
  await batchQueue.obliterate({ force: true });
  await batchQueue.close();

  const worker = spawnChild(["--bullmq-worker", redisUrl, "e2e", String(counts.endToEnd)]);
  await worker.line(/^ready$/);
  const e2eQueue = new Queue("e2e", { connection });
  const measured = await withCpu([worker.child.pid!, redisPid], async () => {
    const started = performance.now();
    await addAll(e2eQueue, counts.endToEnd);
    await worker.line(/^done$/);
    return counts.endToEnd / ((performance.now() - started) / 1000);
  });
  const rss = peakRssMiB(worker.child.pid!);
  worker.child.stdin!.end();
  await new Promise((r) => worker.child.once("exit", r));
  await e2eQueue.obliterate({ force: true });
  await e2eQueue.close();
  const endToEndCpu = (measured.cpu / counts.endToEnd) * 1000;
  return { single, batch, memoryPer100k, endToEnd: measured.result, endToEndCpu, streaming: measured.result, streamingCpu: endToEndCpu, rss };
}

// ---- driver ---------------------------------------------------------------------------------------------------
/** Best throughput, least CPU and memory over the rounds (other load on the machine only ever slows a run down). */
function best(rounds: readonly Figures[]): Figures {
  const pick = (key: keyof Figures, better: (a: number, b: number) => number) => rounds.map((r) => r[key]).reduce((a, b) => better(a, b));
  return {
    single: pick("single", Math.max),
    batch: pick("batch", Math.max),
    memoryPer100k: pick("memoryPer100k", Math.min),
    endToEnd: pick("endToEnd", Math.max),
    endToEndCpu: pick("endToEndCpu", Math.min),
    streaming: pick("streaming", Math.max),
    streamingCpu: pick("streamingCpu", Math.min),
    rss: pick("rss", Math.max),
  };
}

async function main(): Promise<void> {
  const dir = await createTempDir("queue-bench");
  const valkey = await startLocalRedis({ dir: dir.path });
  const admin = new Redis(valkey.url);
  try {
    const info = await admin.info("server");
    const serverVersion = /^(?:valkey|redis)_version:(.+)$/m.exec(info)?.[1]?.trim() ?? "?";
    const redisPid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
    console.log(`queue bench on ${valkey.server} ${serverVersion}: ${JSON.stringify(counts)}, ${rounds} rounds`);
    const mesh: Figures[] = [];
    const bull: Figures[] = [];
    for (let round = 1; round <= rounds; round++) {
      mesh.push(await benchMesh(valkey.url, admin, redisPid));
      console.log("connect-mesh", mesh.at(-1));
      await admin.flushall();
      bull.push(await benchBullmq(valkey.url, admin, redisPid));
      console.log("bullmq", bull.at(-1));
      await admin.flushall();
    }
    writeResults(best(mesh), best(bull), `${valkey.server} ${serverVersion}`);
  } finally {
    admin.disconnect();
    await valkey.stop();
    await dir.remove();
  }
}

function writeResults(mesh: Figures, bull: Figures, server: string): void {
  const bullmqVersion = (JSON.parse(readFileSync(join(root, "node_modules/bullmq/package.json"), "utf8")) as { version: string }).version;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const rate = (n: number) => `${Math.round(n).toLocaleString("en-US")}/s`;
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  const ms = (n: number) => `${Math.round(n)} ms`;
  const e2eRatio = mesh.endToEnd / bull.endToEnd;
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  const text = `## Queue (issue 4)

Run ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model.trim() ?? "?"}), ${(totalmem() / 1024 ** 3).toFixed(0)} GiB,
Node ${process.version}, ${server} (private, loopback, no persistence), BullMQ ${bullmqVersion}; load average at the
end ${load}. \`node bench/queue.bench.ts\`: ${rounds} interleaved rounds, best of each figure.

connect-mesh is measured through its RPC API: the queue service runs on \`startMeshService\` in a process of its
own and the benchmark talks gRPC to it (HTTP/2, binary protobuf, no compression). BullMQ is used as a library,
its normal use: the producer in the benchmark process, a \`Worker\` (concurrency 100) in a process of its own.
Both delete finished messages (ack; \`removeOnComplete\`) and retry failures at once (Nack with retry_delay 0;
\`attempts: 2\` without backoff).

| | connect-mesh | BullMQ | ratio |
| --- | ---: | ---: | ---: |
| enqueue, one message per call (${counts.single.toLocaleString("en-US")}, ${singleConcurrency} calls in flight) | ${rate(mesh.single)} | ${rate(bull.single)} | ${ratio(mesh.single, bull.single)} |
| enqueue, batches of 1,000 (${counts.batch.toLocaleString("en-US")}) | ${rate(mesh.batch)} | ${rate(bull.batch)} | ${ratio(mesh.batch, bull.batch)} |
| end to end, enqueue → process → ack, 10 % fail once (${counts.endToEnd.toLocaleString("en-US")}): Lease batches | ${rate(mesh.endToEnd)} | ${rate(bull.endToEnd)} | **${ratio(mesh.endToEnd, bull.endToEnd)}** |
| the same with Consume streams | ${rate(mesh.streaming)} | ${rate(bull.endToEnd)} | ${ratio(mesh.streaming, bull.endToEnd)} |
| CPU per 1,000 messages end to end, all processes (Lease batches / streams) | ${ms(mesh.endToEndCpu)} / ${ms(mesh.streamingCpu)} | ${ms(bull.endToEndCpu)} | ${ratio(bull.endToEndCpu, mesh.endToEndCpu)} / ${ratio(bull.endToEndCpu, mesh.streamingCpu)} less |
| Valkey memory per 100,000 queued messages | ${mib(mesh.memoryPer100k)} | ${mib(bull.memoryPer100k)} | ${ratio(mesh.memoryPer100k, bull.memoryPer100k)} |
| peak RSS: queue server process / BullMQ worker process | ${mesh.rss.toFixed(0)} MiB | ${bull.rss.toFixed(0)} MiB | ${ratio(mesh.rss, bull.rss)} |

End to end, connect-mesh's producer uses BatchEnqueue (1,000 per call, ${producerConcurrency} in flight). Its consumers either
lease in batches (three consumers, Lease of up to 500 with long-poll, then one Ack and one Nack call per batch)
or stream (two Consume streams, max_in_flight 1,000 each, acks and nacks sent in batches of up to 250 tokens).
BullMQ's producer uses \`addBulk\` (1,000 per call, ${producerConcurrency} in flight). The payload is
\`{"i": n, "fail": bool, "note": "connect-mesh queue benchmark"}\`.

Other work shared the machine during the run (see the load average): throughput figures of one run can differ
from the next by 2× either way, for both queues. CPU per message, summed over every process involved, is the
steadier comparison.

Target: end to end at least 1.5× BullMQ's through the RPC API: **${e2eRatio >= 1.5 ? "met" : "missed"}** (${e2eRatio.toFixed(2)}× with Lease batches).
`;
  writeFileSync(join(root, "bench", "results", "queue.md"), text);
  console.log(text);
}

const [role, ...rest] = process.argv.slice(2);
if (role === "--serve") await serve(rest[0]!);
else if (role === "--bullmq-worker") await bullmqWorker(rest[0]!, rest[1]!, Number(rest[2]));
else await main();
