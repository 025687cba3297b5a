import { execFile, spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";
import { findExecutable } from "../lib/infra/find-executable.ts";
import { getFreePort } from "../lib/infra/free-port.ts";
import { serviceNodeFlags } from "../lib/server/service-node-flags.ts";

const repo = resolve(import.meta.dirname, "..");

export type ServiceName = "backend" | "gateway" | "control";

export interface SpawnServiceOptions {
  name: ServiceName;
  /**
   * The whole environment of the process besides PATH: nothing else of the test's environment leaks in.
   * PORT defaults to a free loopback port; set it (even to garbage) to choose.
   */
  env: Readonly<Record<string, string | undefined>>;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnedService {
  readonly name: ServiceName;
  readonly pid: number;
  /** http://127.0.0.1:PORT (meaningless when PORT was set to something that is not a port). */
  readonly url: string;
  readonly port: number;
  /** Resolves once the process has exited and its output is read to the end. Never rejects. */
  readonly exited: Promise<ExitStatus>;
  /** `exited`, or a rejection with the output when the process is still running after `timeoutMs`. */
  exitedWithin(timeoutMs: number): Promise<ExitStatus>;
  readonly running: boolean;
  /** Every line written so far. */
  output(): { stdout: readonly string[]; stderr: readonly string[] };
  /** The JSON log lines (pino) written to stdout so far. */
  logs(): Array<Record<string, unknown>>;
  /** Resolves with the first line (now or later) on stdout or stderr that matches; rejects if the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when grpc.health.v1 Check of "" says SERVING; rejects with the output if the process exits first. */
  untilServing(timeoutMs?: number): Promise<void>;
  /** Sends a signal and returns at once. */
  signal(signal: NodeJS.Signals): void;
  /** Sends `signal` (default SIGTERM), waits for the exit, SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitStatus>;
}

/** Every process spawned by this test file that has not exited yet. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killLiveOnExit(): void {
  for (const child of live) child.kill("SIGKILL");
}

/**
 * Spawns `services/<name>/src/main.ts` on Node 24 with its telemetry preload, as `npm start` does, and returns
 * without waiting. Call `afterAll(stopAllServices)` in every file that uses it. As a last resort the process is
 * tied to the test process: SIGKILL when the test process exits, and (`setpriv --pdeathsig`) when it dies.
 */
export async function spawnService(options: SpawnServiceOptions): Promise<SpawnedService> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
  env.PORT ??= String(await getFreePort());
  const port = Number(env.PORT);

  const args = [...serviceNodeFlags, "--import", `${repo}/services/${options.name}/src/telemetry.ts`, `${repo}/services/${options.name}/src/main.ts`];
  const setpriv = process.platform === "linux" ? findExecutable(["setpriv"], env.PATH ?? "") : undefined;
  const [command, commandArgs] =
    setpriv === undefined ? [process.execPath, args] : [setpriv, ["--pdeathsig", "SIGKILL", "--", process.execPath, ...args]];
  const child = spawn(command, commandArgs, { env, cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) {
    const error = await new Promise<Error>((done) => child.once("error", done));
    throw new Error(`could not spawn the ${options.name}: ${error.message}`);
  }
  live.add(child);
  if (!exitHookInstalled) {
    process.on("exit", killLiveOnExit);
    exitHookInstalled = true;
  }

  const stdout: string[] = [];
  const stderr: string[] = [];
  const lineWatchers = new Set<(line: string) => void>();
  const collect = (into: string[]) => (line: string) => {
    into.push(line);
    for (const watcher of lineWatchers) watcher(line);
  };
  createInterface({ input: child.stdout! }).on("line", collect(stdout));
  createInterface({ input: child.stderr! }).on("line", collect(stderr));

  let status: ExitStatus | undefined;
  // "close" comes after the output streams end, so output() is complete once `exited` resolves.
  const exited = new Promise<ExitStatus>((done) => {
    child.once("close", (code, signal) => {
      live.delete(child);
      status = { code, signal };
      done(status);
    });
  });

  const describe = () =>
    `${options.name} (pid ${child.pid}) ${status ? `exited with ${status.signal ?? `code ${status.code}`}` : "is running"}\n` +
    `stdout:\n${stdout.join("\n")}\nstderr:\n${stderr.join("\n")}`;

  const service: SpawnedService = {
    name: options.name,
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    port,
    exited,
    get running() {
      return status === undefined;
    },
    exitedWithin(timeoutMs) {
      return new Promise((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`still running after ${timeoutMs} ms\n${describe()}`)), timeoutMs);
        void exited.then((result) => {
          clearTimeout(timer);
          done(result);
        });
      });
    },
    output: () => ({ stdout: [...stdout], stderr: [...stderr] }),
    logs() {
      const out: Array<Record<string, unknown>> = [];
      for (const line of stdout) {
        try {
          const parsed: unknown = JSON.parse(line);
          if (typeof parsed === "object" && parsed !== null) out.push(parsed as Record<string, unknown>);
        } catch {}
      }
      return out;
    },
    waitForLine(pattern, timeoutMs = 15_000) {
      const seen = [...stdout, ...stderr].find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((done, fail) => {
        const finish = (error: Error | undefined, line?: string) => {
          clearTimeout(timer);
          lineWatchers.delete(watcher);
          if (error) fail(error);
          else done(line!);
        };
        const watcher = (line: string) => {
          if (pattern.test(line)) finish(undefined, line);
        };
        const timer = setTimeout(() => finish(new Error(`no line matching ${pattern} within ${timeoutMs} ms\n${describe()}`)), timeoutMs);
        lineWatchers.add(watcher);
        void exited.then(() => finish(new Error(`no line matching ${pattern} before the exit\n${describe()}`)));
      });
    },
    async untilServing(timeoutMs = 30_000) {
      const sessions = new Http2SessionManager(service.url);
      const health = createClient(Health, createGrpcTransport({ baseUrl: service.url, sessionManager: sessions }));
      const deadline = Date.now() + timeoutMs;
      let last = "no answer yet";
      try {
        while (Date.now() < deadline) {
          if (status !== undefined) throw new Error(`the service did not start serving\n${describe()}`);
          try {
            const answer = await health.check({ service: "" }, { timeoutMs: 1000 });
            if (answer.status === HealthCheckResponse_ServingStatus.SERVING) return;
            last = `status ${answer.status} (not SERVING)`;
          } catch (err) {
            last = err instanceof ConnectError ? `${Code[err.code]}: ${err.rawMessage}` : String(err);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`not SERVING within ${timeoutMs} ms (last: ${last})\n${describe()}`);
      } finally {
        sessions.abort();
      }
    },
    signal(signal) {
      if (status === undefined) child.kill(signal);
    },
    async stop(signal = "SIGTERM", timeoutMs = 15_000) {
      if (status !== undefined) return status;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  return service;
}

/** spawnService, then untilServing; a service that does not come up is killed and its output thrown. */
export async function startService(options: SpawnServiceOptions, timeoutMs?: number): Promise<SpawnedService> {
  const service = await spawnService(options);
  try {
    await service.untilServing(timeoutMs);
  } catch (err) {
    await service.stop("SIGKILL");
    throw err;
  }
  return service;
}

/** SIGKILLs every process this file spawned that is still running, and waits for them. For afterAll. */
export async function stopAllServices(): Promise<void> {
  const exits = [...live].map((child) => new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once("close", () => done());
    child.kill("SIGKILL");
  }));
  await Promise.all(exits);
}

/** `url` with `search_path` set to `schema` for every connection (a backend of its own in a test schema). */
export function databaseUrlInSchema(url: string, schema: string): string {
  const target = new URL(url);
  target.searchParams.set("options", `-c search_path=${schema}`);
  return target.toString();
}

export interface BufCurlResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real `buf curl` of node_modules, an outside client that knows the services only through reflection.
 * `timeoutSeconds` is buf's own deadline for the call. buf exits with the RPC's code shifted left by 3.
 */
export function bufCurl(args: readonly string[], timeoutSeconds = 20): Promise<BufCurlResult> {
  const buf = resolve(repo, "node_modules/.bin/buf");
  return new Promise((done, fail) => {
    execFile(buf, ["curl", "--timeout", `${timeoutSeconds}s`, ...args], { timeout: (timeoutSeconds + 5) * 1000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") return fail(error);
      done({ exitCode: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}
