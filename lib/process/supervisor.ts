import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { findExecutable } from "../infra/find-executable.ts";

export interface ProcessSpec {
  /** Shown in logs, such as "backend-1". */
  name: string;
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Restart after an unexpected exit, with backoff. @default true */
  restart?: boolean;
}

export interface SupervisorOptions {
  /** Receives every line the processes print. */
  onLine: (name: string, line: string) => void;
  /** Receives lifecycle news: started, exited, restarting. */
  onEvent: (name: string, event: string) => void;
  /** Called when a process exits unexpectedly (not on stop()). */
  onExit?: (name: string, code: number | null, signal: NodeJS.Signals | null) => void;
  /** PATH, to find `setpriv`. */
  searchPath: string;
  /** First restart delay; doubles per crash in a row, up to 10 s. @default 500 */
  restartBaseMs?: number;
  /** How long a stop waits after SIGTERM before SIGKILL. @default 15000 */
  stopTimeoutMs?: number;
}

export type SupervisedState = "running" | "restarting" | "stopping" | "stopped";

export interface Supervised {
  readonly name: string;
  readonly pid: number | undefined;
  readonly restarts: number;
  readonly state: SupervisedState;
  /** When the current process started, in epoch ms. */
  readonly startedAt: number;
  /** SIGTERM, wait for the exit (SIGKILL after the timeout); no restart afterwards. */
  stop(): Promise<void>;
}

export interface Supervisor {
  start(spec: ProcessSpec): Supervised;
  /** Stops one process and forgets it. */
  remove(name: string): Promise<void>;
  /** Stops every process, in reverse start order. */
  stopAll(): Promise<void>;
}

/**
 * Runs the mesh's processes for `npm start`: each in its own process group (so a terminal's Ctrl-C reaches
 * only the supervisor, which then stops them in order), tied to the supervisor's life with
 * `setpriv --pdeathsig` where available, and restarted with exponential backoff when they crash (the crash
 * fault relies on it).
 */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const setpriv = process.platform === "linux" ? findExecutable(["setpriv"], options.searchPath) : undefined;
  const baseMs = options.restartBaseMs ?? 500;
  const stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
  const all: Supervised[] = [];

  function start(spec: ProcessSpec): Supervised {
    let child: ChildProcess | undefined;
    let stopping = false;
    let restarts = 0;
    let crashesInARow = 0;
    let restartTimer: NodeJS.Timeout | undefined;
    let exited: Promise<void> = Promise.resolve();
    let state: SupervisedState = "running";
    let startedAt = Date.now();

    const launch = () => {
      const [command, args] =
        setpriv === undefined ? [spec.command, spec.args] : [setpriv, ["--pdeathsig", "SIGTERM", "--", spec.command, ...spec.args]];
      startedAt = Date.now();
      state = "running";
      const proc = spawn(command, args, { env: spec.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
      child = proc;
      for (const stream of [proc.stdout, proc.stderr]) {
        createInterface({ input: stream }).on("line", (line) => options.onLine(spec.name, line));
      }
      exited = new Promise<void>((resolve) => {
        proc.once("exit", (code, signal) => {
          child = undefined;
          resolve();
          if (stopping) {
            state = "stopped";
            return;
          }
          crashesInARow = Date.now() - startedAt > 30_000 ? 1 : crashesInARow + 1;
          options.onExit?.(spec.name, code, signal);
          if (spec.restart === false) {
            state = "stopped";
            options.onEvent(spec.name, `exited (${signal ?? `code ${code}`})`);
            return;
          }
          state = "restarting";
          const delay = Math.min(baseMs * 2 ** (crashesInARow - 1), 10_000);
          options.onEvent(spec.name, `exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
          restartTimer = setTimeout(() => {
            restarts++;
            launch();
          }, delay);
        });
        proc.once("error", (err) => options.onEvent(spec.name, `could not start: ${err.message}`));
      });
    };
    launch();

    const supervised: Supervised = {
      name: spec.name,
      get pid() {
        return child?.pid;
      },
      get restarts() {
        return restarts;
      },
      get state() {
        return state;
      },
      get startedAt() {
        return startedAt;
      },
      async stop() {
        stopping = true;
        clearTimeout(restartTimer);
        const proc = child;
        if (!proc) {
          state = "stopped";
          return;
        }
        state = "stopping";
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), stopTimeoutMs);
        await exited;
        clearTimeout(timer);
      },
    };
    all.push(supervised);
    return supervised;
  }

  return {
    start,
    async remove(name) {
      const index = all.findIndex((p) => p.name === name);
      if (index === -1) return;
      const [p] = all.splice(index, 1);
      await p!.stop();
    },
    async stopAll() {
      for (const p of [...all].reverse()) await p.stop();
    },
  };
}
