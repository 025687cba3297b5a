import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { getFreePort, isPortFree } from "./free-port.ts";
import { InfraError } from "./infra-error.ts";
import { silentLogger, type InfraLogger } from "./infra-logger.ts";

export interface StartLocalPgliteOptions {
  /** Folder for the embedded database files; reused across runs. */
  dir: string;
  /** Port on 127.0.0.1. Default: a free one, chosen once and kept for start() after stop(). */
  port?: number;
  /** Socket clients admitted at once; they all share ONE session. Default 10. */
  maxConnections?: number;
  logger?: InfraLogger;
}

export interface LocalPglite {
  readonly kind: "pglite";
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly dataDir: string;
  readonly running: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const host = "127.0.0.1";

/** What PGlite cannot do that a PostgreSQL server can; logged whenever the fallback starts. */
export const pgliteLimits =
  "PGlite (embedded PostgreSQL in WASM) is serving the database: every connection shares ONE session " +
  "(named prepared statements collide, an open transaction blocks all other clients), queries run one " +
  "at a time and about 2-3x slower. Fine for one developer; install PostgreSQL for anything concurrent " +
  "(apt-get install -y postgresql).";

/**
 * Serves an embedded PGlite database on a loopback port through the PostgreSQL wire protocol,
 * for machines without PostgreSQL binaries. It runs inside this process: nothing to orphan.
 */
export async function startLocalPglite(options: StartLocalPgliteOptions): Promise<LocalPglite> {
  const logger = options.logger ?? silentLogger;
  const dataDir = resolve(options.dir);
  await mkdir(dataDir, { recursive: true });
  const { PGlite: PGliteClass } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer: ServerClass } = await import("@electric-sql/pglite-socket");

  let port = options.port ?? (await getFreePort(host));
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;

  async function launch(): Promise<void> {
    if (server !== undefined) return;
    if (!(await isPortFree(port, host))) {
      throw new InfraError(
        "PORT_IN_USE",
        `port ${port} on ${host} is already in use`,
        `leave the port unset to get a free one, or stop the process that holds it (ss -ltnp | grep :${port})`,
      );
    }
    const database = await PGliteClass.create({ dataDir });
    const socketServer = new ServerClass({ db: database, host, port, maxConnections: options.maxConnections ?? 10 });
    try {
      await socketServer.start();
    } catch (error) {
      await database.close();
      throw new InfraError("START_FAILED", `PGlite could not listen on ${host}:${port}: ${String(error)}`, "retry, or set DATABASE_URL", {
        cause: error,
      });
    }
    db = database;
    server = socketServer;
    logger.warn({ port, dataDir }, pgliteLimits);
  }

  await launch();

  return {
    kind: "pglite",
    get url() {
      return `postgres://postgres@${host}:${port}/postgres`;
    },
    host,
    get port() {
      return port;
    },
    database: "postgres",
    dataDir,
    get running() {
      return server !== undefined;
    },
    start: launch,
    async stop() {
      const [stopping, closing] = [server, db];
      server = undefined;
      db = undefined;
      await stopping?.stop();
      await closing?.close();
    },
  };
}
