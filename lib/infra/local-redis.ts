import { connect } from "node:net";
import { basename, join, resolve } from "node:path";
import { findExecutable } from "./find-executable.ts";
import { getFreePort, isPortFree } from "./free-port.ts";
import { InfraError } from "./infra-error.ts";
import { silentLogger, type InfraLogger } from "./infra-logger.ts";
import { spawnManaged, type ManagedProcess } from "./managed-process.ts";
import { prepareDataDir } from "./prepare-data-dir.ts";
import { waitUntilReady } from "./wait-until-ready.ts";

export interface StartLocalRedisOptions {
  /** Folder owned by this server: its working folder and `redis.log`. */
  dir: string;
  /** Port on 127.0.0.1. Default: a free one, chosen once and kept for start() after stop(). */
  port?: number;
  logger?: InfraLogger;
  /** PATH string searched for valkey-server, then redis-server. Default: this process's PATH. */
  searchPath?: string;
  /** Default 30 s. */
  startTimeoutMs?: number;
}

export interface LocalRedis {
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** "valkey-server" or "redis-server". */
  readonly server: string;
  readonly logFile: string;
  readonly running: boolean;
  /** Starts the server again after stop(), on the same port. */
  start(): Promise<void>;
  /** SIGTERM, then waits for the exit. The data is not kept (no RDB, no AOF). */
  stop(): Promise<void>;
  restart(): Promise<void>;
}

const host = "127.0.0.1";
const portAttempts = 3;

/** Runs a private Valkey or Redis from the machine's binaries on a loopback port, without persistence. */
export async function startLocalRedis(options: StartLocalRedisOptions): Promise<LocalRedis> {
  const logger = options.logger ?? silentLogger;
  const searchPath = options.searchPath ?? process.env.PATH ?? "";
  const found = findExecutable(["valkey-server", "redis-server"], searchPath);
  if (found === undefined) {
    throw new InfraError(
      "BINARY_NOT_FOUND",
      "neither valkey-server nor redis-server is on PATH",
      "apt-get install -y redis-server (or valkey-server), or docker compose up -d valkey, or set REDIS_URL",
    );
  }
  const binary: string = found;
  const server = basename(binary);
  const dir = resolve(options.dir);
  const logFile = join(dir, "redis.log");
  await prepareDataDir(dir);

  let fixedPort = options.port !== undefined;
  let port = options.port ?? (await getFreePort(host));
  let child: ManagedProcess | undefined;

  async function launch(): Promise<void> {
    if (child?.isRunning() === true) return;
    for (let attempt = 1; ; attempt += 1) {
      if (fixedPort && !(await isPortFree(port, host))) throw portInUse(port);
      const args = [
        "--port", String(port),
        "--bind", host,
        "--save", "",
        "--appendonly", "no",
        "--dir", dir,
        "--daemonize", "no",
        "--logfile", "",
      ];
      child = spawnManaged({ command: binary, args, env: { PATH: searchPath }, logFile, stopSignal: "SIGTERM", searchPath });
      const pid = child.pid;
      const readiness = await waitUntilReady(child, () => servedBy(port, pid), { timeoutMs: options.startTimeoutMs ?? 30_000 });
      if (readiness === "ready") {
        fixedPort = true;
        break;
      }
      await child.stop();
      const log = child.readLog();
      if (/address already in use/i.test(log)) {
        if (fixedPort || attempt >= portAttempts) throw portInUse(port);
        port = await getFreePort(host);
        continue;
      }
      const what = readiness === "timeout" ? "did not answer PING in time" : "exited during start-up";
      const last = log.trim().split("\n").at(-1)?.trim() || "no output";
      throw new InfraError("START_FAILED", `${server} ${what}: ${last}`, `read ${logFile}`);
    }
    logger.info({ port, server }, "private Redis is ready");
  }

  await launch();

  return {
    get url() {
      return `redis://${host}:${port}`;
    },
    host,
    get port() {
      return port;
    },
    server,
    logFile,
    get running() {
      return child?.isRunning() === true;
    },
    start: launch,
    async stop() {
      await child?.stop();
    },
    async restart() {
      await child?.stop();
      await launch();
    },
  };
}

/**
 * Answers commands, and is our process: not another server that took the port meanwhile.
 * A raw INFO over a socket: no client library, no reconnect loop to tear down.
 */
function servedBy(port: number, pid: number | undefined): Promise<boolean> {
  return new Promise((resolveCheck) => {
    const socket = connect({ host, port });
    let reply = "";
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolveCheck(ok);
    };
    socket.setTimeout(2_000, () => finish(false));
    socket.once("error", () => finish(false));
    socket.once("close", () => finish(false));
    socket.once("connect", () => socket.write("INFO server\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      if (reply.startsWith("-")) return finish(false);
      const found = /\r\nprocess_id:(\d+)\r\n/.exec(reply);
      if (found !== null) finish(Number(found[1]) === pid);
    });
  });
}

function portInUse(port: number): InfraError {
  return new InfraError(
    "PORT_IN_USE",
    `port ${port} on ${host} is already in use`,
    `leave the port unset to get a free one, or stop the process that holds it (ss -ltnp | grep :${port})`,
  );
}
