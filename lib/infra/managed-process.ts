import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { findExecutable } from "./find-executable.ts";
import type { SystemUser } from "./system-user.ts";

export interface SpawnManagedOptions {
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here (a file, not a pipe: the server never blocks on us). */
  logFile: string;
  /** Run as this account (we are root and the program refuses root). */
  runAs?: SystemUser;
  /** Sent by stop(), on our exit, and by the kernel if we die without running exit handlers. */
  stopSignal: NodeJS.Signals;
  /** After stopSignal, how long to wait before SIGKILL. Default 20 s. */
  stopTimeoutMs?: number;
  /** PATH string, to find `setpriv`. */
  searchPath: string;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

export interface ManagedProcess {
  readonly pid: number | undefined;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  isRunning(): boolean;
  /** What the process wrote to its log since it was spawned (the last 64 KiB). */
  readLog(): string;
  /** stopSignal, wait for the exit, SIGKILL after stopTimeoutMs. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Spawns a long-running server so that it cannot outlive us:
 * - it runs in its own process group, so Ctrl-C reaches only us and we stop it in order;
 * - on our `exit` (normal end, process.exit, uncaught exception) it gets stopSignal;
 * - through `setpriv --pdeathsig` (util-linux), the kernel sends stopSignal when we die any other
 *   way (SIGKILL, a crash). setpriv execs the server, so `pid` is the server's own pid.
 * Spawn from the main thread: the death signal follows the thread that spawned, and a
 * worker thread ending would stop the server.
 */
export function spawnManaged(options: SpawnManagedOptions): ManagedProcess {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const logStart = fileSize(options.logFile);
  const setpriv = process.platform === "linux" ? findExecutable(["setpriv"], options.searchPath) : undefined;
  const [command, args] =
    setpriv === undefined
      ? [options.command, options.args]
      : [setpriv, ["--pdeathsig", options.stopSignal, "--", options.command, ...options.args]];

  const fd = openSync(options.logFile, "a");
  let child;
  try {
    child = spawn(command, args, {
      env: options.env,
      stdio: ["ignore", fd, fd],
      detached: true,
      ...(options.runAs === undefined ? {} : { uid: options.runAs.uid, gid: options.runAs.gid }),
    });
  } finally {
    closeSync(fd);
  }
  child.unref();

  let status: ExitStatus | undefined;
  const stopOnParentExit = (): void => {
    if (status === undefined) child.kill(options.stopSignal);
  };
  process.on("exit", stopOnParentExit);
  const exited = new Promise<ExitStatus>((resolve) => {
    const settle = (result: ExitStatus): void => {
      if (status !== undefined) return;
      status = result;
      process.off("exit", stopOnParentExit);
      resolve(result);
    };
    child.once("error", (error) => settle({ code: null, signal: null, error }));
    child.once("exit", (code, signal) => settle({ code, signal }));
  });

  return {
    pid: child.pid,
    exited,
    isRunning: () => status === undefined,
    readLog: () => readFrom(options.logFile, logStart),
    async stop() {
      if (status !== undefined) return;
      child.kill(options.stopSignal);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), options.stopTimeoutMs ?? 20_000);
      });
      try {
        if ((await Promise.race([exited, timedOut])) === "timeout") {
          child.kill("SIGKILL");
          await exited;
        }
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

const maxLogRead = 64 * 1024;

function readFrom(file: string, offset: number): string {
  const end = fileSize(file);
  const start = Math.max(offset, end - maxLogRead);
  if (end <= start) return "";
  const buffer = Buffer.alloc(end - start);
  const fd = openSync(file, "r");
  try {
    readSync(fd, buffer, 0, buffer.length, start);
  } finally {
    closeSync(fd);
  }
  return buffer.toString("utf8");
}
