import { chmod, mkdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { InfraError } from "./infra-error.ts";
import { silentLogger, type InfraLogger } from "./infra-logger.ts";
import { startLocalPglite, type LocalPglite } from "./local-pglite.ts";
import { startLocalPostgres, type LocalPostgres } from "./local-postgres.ts";
import { startLocalRedis, type LocalRedis } from "./local-redis.ts";

export interface StartLocalInfraOptions {
  /**
   * Folder for all local data: `<dataDir>/postgres`, `<dataDir>/redis`, `<dataDir>/pglite`.
   * Created if missing (unless both URLs are given); as root it is made traversable (o+x, not
   * readable) so that the postgres account reaches `<dataDir>/postgres`.
   */
  dataDir: string;
  /** Use this database instead of starting one (the caller reads DATABASE_URL, not this module). */
  databaseUrl?: string;
  /** Use this Redis/Valkey instead of starting one. */
  redisUrl?: string;
  /** Database created in the private PostgreSQL. Default "mesh". */
  database?: string;
  /** Without PostgreSQL binaries, serve an embedded PGlite instead of failing. Default false. */
  allowPglite?: boolean;
  /** Keep the private PostgreSQL's fsync and synchronous commits on, as in production. Default false. */
  durablePostgres?: boolean;
  logger?: InfraLogger;
  /** PATH string searched for the binaries. Default: this process's PATH. */
  searchPath?: string;
  /** Folders holding `<version>/bin` PostgreSQL installations. Default ["/usr/lib/postgresql"]. */
  postgresVersionRoots?: readonly string[];
}

export interface LocalInfra {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** Undefined when `databaseUrl` was given. */
  readonly postgres: LocalPostgres | LocalPglite | undefined;
  /** Undefined when `redisUrl` was given. */
  readonly redis: LocalRedis | undefined;
  /** Stops what was started here (not the servers named by URL). */
  stop(): Promise<void>;
}

/**
 * Starts what the caller did not give a URL for: a private PostgreSQL (or, if allowed and
 * there is no PostgreSQL, PGlite) and a private Redis/Valkey, on free loopback ports.
 * Throws InfraError; anything started before the failure is stopped first.
 */
export async function startLocalInfra(options: StartLocalInfraOptions): Promise<LocalInfra> {
  const logger = options.logger ?? silentLogger;
  const dataDir = resolve(options.dataDir);
  if (options.databaseUrl === undefined || options.redisUrl === undefined) {
    await mkdir(dataDir, { recursive: true });
    if (process.getuid?.() === 0) await makeTraversable(dataDir);
  }

  let postgres: LocalPostgres | LocalPglite | undefined;
  let redis: LocalRedis | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all([redis?.stop(), postgres?.stop()]);
  };
  try {
    if (options.databaseUrl === undefined) postgres = await startDatabase(options, dataDir, logger);
    if (options.redisUrl === undefined) {
      redis = await startLocalRedis({ dir: join(dataDir, "redis"), logger, ...searchPath(options) });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const databaseUrl = options.databaseUrl ?? postgres?.url;
  const redisUrl = options.redisUrl ?? redis?.url;
  if (databaseUrl === undefined || redisUrl === undefined) throw new Error("unreachable: a URL is missing");
  return { databaseUrl, redisUrl, postgres, redis, stop };
}

async function startDatabase(
  options: StartLocalInfraOptions,
  dataDir: string,
  logger: InfraLogger,
): Promise<LocalPostgres | LocalPglite> {
  try {
    return await startLocalPostgres({
      dir: join(dataDir, "postgres"),
      logger,
      ...(options.database === undefined ? {} : { database: options.database }),
      ...(options.durablePostgres === true ? { durable: true } : {}),
      ...(options.postgresVersionRoots === undefined ? {} : { versionRoots: options.postgresVersionRoots }),
      ...searchPath(options),
    });
  } catch (error) {
    if (!(error instanceof InfraError && error.code === "BINARY_NOT_FOUND" && options.allowPglite === true)) throw error;
    logger.warn({ reason: error.message }, "no PostgreSQL binaries: falling back to PGlite");
    return startLocalPglite({ dir: join(dataDir, "pglite"), logger });
  }
}

function searchPath(options: StartLocalInfraOptions): { searchPath?: string } {
  return options.searchPath === undefined ? {} : { searchPath: options.searchPath };
}

async function makeTraversable(dir: string): Promise<void> {
  const { mode } = await stat(dir);
  if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o001);
}
