// The floor under CreateItem: PostgreSQL alone running the very statement the backend sends for a keyed
// create (item, audit row, outbox event and idempotency claim in one statement; item-sql.ts's insertItem),
// prepared, at a fixed rate, from pgbench, PostgreSQL's own C load generator. What it measures is what the
// database and this machine cost for a create before any of the backend's work.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Query } from "../services/backend/src/data/db-runner.ts";
import { insertItem } from "../services/backend/src/data/item-sql.ts";
import { percentile } from "./load-generator.ts";

export interface PgbenchResult {
  /** Transactions that completed and were measured. */
  ok: number;
  /** Transactions that failed or were skipped. */
  errors: number;
  /** Transactions a second over the run. */
  throughput: number;
  /** From each transaction's scheduled start: waiting for a connection (Poisson arrivals) counts. */
  p50: number;
  p99: number;
  max: number;
  /** From each transaction's actual start: the statement alone. */
  p99FromStart: number;
}

/** insertItem's statement text and parameter values, as it would send them. */
async function createItemStatement(): Promise<{ text: string; values: readonly unknown[] }> {
  let statement: { text: string; values: readonly unknown[] } | undefined;
  const capture = (async (_operation: string, text: string, values?: readonly unknown[]) => {
    statement = { text, values: values ?? [] };
    return { rows: [{ id: null, request_hash: null, response: null }] };
  }) as unknown as Query;
  await insertItem(
    capture,
    { name: nameMark, valueJson: undefined, metadataJson: '{"source":"pgbench"}', status: "active" },
    { key: keyMark, requestHash: "pgbench", ttlSeconds: 86_400 },
    { action: "create", topic: "item.created", requestId: "pgbench", actor: "pgbench", traceContext: null },
  );
  return statement!;
}

/** Connections, as many as the backend's pool (DB_POOL_MAX's default). */
const connections = 10;

const nameMark = "\u0000name";
const keyMark = "\u0000key";

/**
 * The statement as a pgbench script: each create gets a fresh name and idempotency key from pgbench's random
 * `:n`, every other parameter is its literal. pgbench reads `:word` as a variable even inside a string
 * literal, so the colons of to_char formats are spelled chr(58).
 */
export async function createItemScript(): Promise<string> {
  const { text, values } = await createItemStatement();
  let sql = text.replace(/(?<!:):(?=[A-Za-z])/g, "' || chr(58) || '");
  const literal = (value: unknown): string => {
    if (value === nameMark) return "('pgbench-' || :n::text)";
    if (value === keyMark) return "('pgbench-key-' || :n::text)";
    if (value === null || value === undefined) return "NULL";
    if (typeof value === "number") return String(value);
    return `'${String(value).replaceAll("'", "''")}'`;
  };
  // From the highest number down, so that $1 does not match the start of $10.
  for (let i = values.length; i >= 1; i--) sql = sql.replaceAll(`$${i}`, literal(values[i - 1]));
  return `\\set n random(1, 2000000000)\n${sql.replace(/\s*\n\s*/g, " ")};\n`;
}

/**
 * Runs the create statement at `rate` a second for `seconds` with pgbench against `databaseUrl`: `-M prepared`,
 * as many connections as the backend's pool (10), `-R` paced. pgbench's -R schedule is a Poisson process, not
 * the load generator's even one: its bursts wait for a free connection, and that wait counts in the latency
 * from the scheduled start, so the latency from each transaction's actual start is reported too. Each
 * connection's first transaction (which prepares the statement) is left out. Resolves undefined when pgbench
 * is not in `binDir`.
 */
export async function pgbenchCreateItem(binDir: string, databaseUrl: string, dir: string, rate: number, seconds: number): Promise<PgbenchResult | undefined> {
  const pgbench = join(binDir, "pgbench");
  if (!existsSync(pgbench)) return undefined;
  const script = join(dir, "create-item.pgbench.sql");
  writeFileSync(script, await createItemScript());
  const prefix = join(dir, "pgbench-log");
  const args = ["-n", "-M", "prepared", "-f", script, "-R", String(rate), "-T", String(seconds), "-c", String(connections), "-l", `--log-prefix=${prefix}`, databaseUrl];
  const run = spawn(pgbench, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  run.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => run.once("exit", resolve));
  if (code !== 0) throw new Error(`pgbench exited with code ${code}: ${stderr.trim().slice(0, 500)}`);
  // One log file per pgbench thread, a line per transaction: "client transaction time_us script epoch
  // epoch_us lag_us"; time_us reads "failed" or "skipped" for a transaction that did not complete.
  const latencies: number[] = [];
  const fromStart: number[] = [];
  let errors = 0;
  const logPrefix = "pgbench-log.";
  for (const file of readdirSync(dir).filter((f) => f.startsWith(logPrefix))) {
    for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
      const fields = line.split(" ");
      if (fields.length < 7 || fields[1] === "0") continue;
      const [time, lag] = [Number(fields[2]), Number(fields[6])];
      if (!Number.isFinite(time) || !Number.isFinite(lag)) {
        errors++;
        continue;
      }
      latencies.push(time / 1000);
      fromStart.push((time - lag) / 1000);
    }
  }
  const sorted = Float64Array.from(latencies).sort();
  return {
    ok: sorted.length,
    errors,
    throughput: sorted.length / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    p99FromStart: percentile(Float64Array.from(fromStart).sort(), 99),
  };
}
