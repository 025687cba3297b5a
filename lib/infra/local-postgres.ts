import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { findPostgresBinaries, type PostgresBinaries } from "./find-postgres-binaries.ts";
import { getFreePort, isPortFree } from "./free-port.ts";
import { InfraError } from "./infra-error.ts";
import { silentLogger, type InfraLogger } from "./infra-logger.ts";
import { spawnManaged, type ManagedProcess } from "./managed-process.ts";
import { chownTreeIfNeeded, prepareDataDir } from "./prepare-data-dir.ts";
import { lookupSystemUser, type SystemUser } from "./system-user.ts";
import { waitUntilReady } from "./wait-until-ready.ts";

export interface StartLocalPostgresOptions {
  /**
   * Folder owned by this server: the cluster goes to `<dir>/data`, the server log to
   * `<dir>/postgres.log`. An initialised cluster found there is reused.
   */
  dir: string;
  /** Database named in `url`, created when missing. Default "mesh". */
  database?: string;
  /** Port on 127.0.0.1. Default: a free one, chosen once and kept for start() after stop(). */
  port?: number;
  /** Keep fsync and synchronous commits on. Default false: fast, and safe unless the OS crashes. */
  durable?: boolean;
  logger?: InfraLogger;
  /** PATH string searched for the binaries. Default: this process's PATH. */
  searchPath?: string;
  /** Folders holding `<version>/bin` installations. Default ["/usr/lib/postgresql"]. */
  versionRoots?: readonly string[];
  /** Default 60 s. */
  startTimeoutMs?: number;
}

export interface LocalPostgres {
  readonly kind: "postgres";
  /** postgres://postgres@127.0.0.1:PORT/DATABASE (trust authentication, loopback only). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly version: string;
  readonly running: boolean;
  /** Starts the server again after stop(), on the same port. */
  start(): Promise<void>;
  /** Fast shutdown (SIGINT: open sessions are ended), then waits for the exit. */
  stop(): Promise<void>;
}

const host = "127.0.0.1";
const superuser = "postgres";
const portAttempts = 3;
const execFileAsync = promisify(execFile);

/**
 * Runs a private PostgreSQL server from the machine's binaries, on a loopback port, with its data
 * in `options.dir`. As root, the server runs as the `postgres` account (initdb and postgres refuse
 * root); see prepareDataDir for what that changes on disk.
 */
export async function startLocalPostgres(options: StartLocalPostgresOptions): Promise<LocalPostgres> {
  const logger = options.logger ?? silentLogger;
  const searchPath = options.searchPath ?? process.env.PATH ?? "";
  const database = options.database ?? "mesh";
  const dir = resolve(options.dir);
  const dataDir = join(dir, "data");
  const logFile = join(dir, "postgres.log");

  const binaries = findPostgresBinaries({
    searchPath,
    ...(options.versionRoots === undefined ? {} : { versionRoots: options.versionRoots }),
  });
  if (binaries === undefined) {
    throw new InfraError(
      "BINARY_NOT_FOUND",
      "no PostgreSQL server binaries (initdb, postgres) on PATH or in /usr/lib/postgresql/*/bin",
      "apt-get install -y postgresql, or set DATABASE_URL to a server you run",
    );
  }
  const { postgres: postgresBinary, version } = binaries;
  const runAs = process.getuid?.() === 0 ? postgresAccount() : undefined;
  await prepareDataDir(dir, runAs);
  const env = { PATH: searchPath, LC_ALL: "C" };
  await initCluster(binaries, dataDir, runAs, env, logger);

  // A port we chose may be taken between choosing and binding: then we choose again, but only
  // before the first successful start; afterwards URLs are out there and the port stays.
  let fixedPort = options.port !== undefined;
  let port = options.port ?? (await getFreePort(host));
  let child: ManagedProcess | undefined;

  const settings = [
    `listen_addresses=${host}`,
    "unix_socket_directories=",
    ...(options.durable === true ? [] : ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]),
  ];

  async function launch(): Promise<void> {
    if (child?.isRunning() === true) return;
    for (let attempt = 1; ; attempt += 1) {
      if (fixedPort && !(await isPortFree(port, host))) throw portInUse(port);
      const args = ["-D", dataDir, "-c", `port=${port}`, ...settings.flatMap((setting) => ["-c", setting])];
      child = spawnManaged({ command: postgresBinary, args, env, logFile, runAs, stopSignal: "SIGINT", searchPath });
      const readiness = await waitUntilReady(child, () => servesDataDir(port, dataDir), {
        timeoutMs: options.startTimeoutMs ?? 60_000,
      });
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
      throw startFailed(readiness, log, dataDir, logFile);
    }
    try {
      await createDatabaseIfMissing(port, database);
    } catch (error) {
      await child?.stop();
      throw new InfraError("START_FAILED", `could not create database ${database}: ${String(error)}`, `read ${logFile}`, {
        cause: error,
      });
    }
    logger.info({ port, dataDir, version }, "private PostgreSQL is ready");
  }

  await launch();

  return {
    kind: "postgres",
    get url() {
      return `postgres://${superuser}@${host}:${port}/${encodeURIComponent(database)}`;
    },
    host,
    get port() {
      return port;
    },
    database,
    dataDir,
    logFile,
    version,
    get running() {
      return child?.isRunning() === true;
    },
    start: launch,
    async stop() {
      await child?.stop();
    },
  };
}

function postgresAccount(): SystemUser {
  const account = lookupSystemUser("postgres");
  if (account === undefined) {
    throw new InfraError(
      "PERMISSION_DENIED",
      "running as root, and PostgreSQL refuses root, but there is no `postgres` account to run it as",
      "useradd --system --home-dir /var/lib/postgresql postgres (apt-get install -y postgresql creates it), or set DATABASE_URL",
    );
  }
  return account;
}

async function initCluster(
  binaries: PostgresBinaries,
  dataDir: string,
  runAs: SystemUser | undefined,
  env: NodeJS.ProcessEnv,
  logger: InfraLogger,
): Promise<void> {
  const versionFile = join(dataDir, "PG_VERSION");
  if (existsSync(versionFile)) {
    const clusterVersion = Number(readFileSync(versionFile, "utf8").trim());
    if (clusterVersion !== binaries.majorVersion) {
      throw new InfraError(
        "DATA_DIR_INCOMPATIBLE",
        `${dataDir} holds a PostgreSQL ${clusterVersion} cluster, but the binaries found are PostgreSQL ${binaries.majorVersion}`,
        `delete ${dataDir} to start afresh (its data is lost), or install PostgreSQL ${clusterVersion}`,
      );
    }
    if (runAs !== undefined) await chownTreeIfNeeded(dataDir, runAs);
    return;
  }
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new InfraError(
      "DATA_DIR_INCOMPATIBLE",
      `${dataDir} is not empty and is not a PostgreSQL data folder`,
      `delete or move ${dataDir}, or choose another data folder`,
    );
  }
  const args = ["-D", dataDir, "-A", "trust", "-U", superuser, "--no-sync", "-E", "UTF8", "--locale=C", "--no-instructions"];
  try {
    await execFileAsync(binaries.initdb, args, {
      env,
      ...(runAs === undefined ? {} : { uid: runAs.uid, gid: runAs.gid }),
    });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
    throw new InfraError(
      "START_FAILED",
      `initdb failed for ${dataDir}: ${lastLine(stderr) || String(error)}`,
      `check that ${dataDir} is writable${runAs === undefined ? "" : ` by ${runAs.name}`}, or delete it and retry`,
      { cause: error },
    );
  }
  logger.info({ dataDir, version: binaries.version }, "initialised a PostgreSQL cluster");
}

/** Accepts connections, and is our server: not another one that took the port meanwhile. */
async function servesDataDir(port: number, dataDir: string): Promise<boolean> {
  const client = new pg.Client({ host, port, user: superuser, database: "postgres", connectionTimeoutMillis: 2_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir");
    return rows[0]?.dir === dataDir;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function createDatabaseIfMissing(port: number, database: string): Promise<void> {
  const client = new pg.Client({ host, port, user: superuser, database: "postgres" });
  client.on("error", () => {});
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`).catch((error: unknown) => {
        // duplicate_database: another starter created it first.
        if ((error as { code?: string }).code !== "42P04") throw error;
      });
    }
  } finally {
    await client.end();
  }
}

function portInUse(port: number): InfraError {
  return new InfraError(
    "PORT_IN_USE",
    `port ${port} on ${host} is already in use`,
    "leave the port unset to get a free one, or stop the process that holds it (ss -ltnp | grep :" + port + ")",
  );
}

function startFailed(readiness: "exited" | "timeout", log: string, dataDir: string, logFile: string): InfraError {
  if (/lock file .* already exists/i.test(log)) {
    return new InfraError(
      "START_FAILED",
      `another PostgreSQL server is already running on ${dataDir}`,
      `stop it (pg_ctl -D ${dataDir} stop -m fast), or choose another data folder`,
    );
  }
  const what = readiness === "timeout" ? "did not accept connections in time" : "exited during start-up";
  return new InfraError("START_FAILED", `PostgreSQL ${what}: ${lastLine(log) || "no output"}`, `read ${logFile}`);
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return (lines.findLast((line) => /FATAL|ERROR|PANIC/.test(line)) ?? lines.at(-1) ?? "").trim();
}
