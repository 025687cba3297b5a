import pg from "pg";
import { quoteIdent } from "./quote-ident.ts";

export interface CreatePoolOptions {
  /** postgres://user[:password]@host:port/database[?...] */
  url: string;
  /** Shown in pg_stat_activity (unless the URL sets application_name itself). */
  applicationName: string;
  /** Default 10. */
  max?: number;
  /** Wait for a connection at most this long. Default 5000. */
  connectionTimeoutMillis?: number;
  /** Close idle connections after this long. Default 10000. */
  idleTimeoutMillis?: number;
  /** Server-side statement_timeout for every connection. Default: none. */
  statementTimeoutMs?: number;
  /** Every connection runs with `search_path` set to exactly this schema (used for test isolation). */
  schema?: string;
  /**
   * Errors of idle connections (e.g. the server restarted). Without a listener such an error would
   * crash the process; the pool drops the broken connection either way. Default: ignore.
   */
  onError?: (error: Error) => void;
}

/** A pg.Pool with the project's defaults; `schema` goes in as a startup option, not as a query. */
export function createPool(options: CreatePoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: withSearchPath(options.url, options.schema),
    application_name: options.applicationName,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5000,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 10_000,
    ...(options.statementTimeoutMs === undefined ? {} : { statement_timeout: options.statementTimeoutMs }),
  });
  pool.on("error", options.onError ?? (() => {}));
  return pool;
}

/**
 * pg lets parameters of the connection string override the config object, so the search_path
 * option is merged into the URL's own `options` parameter rather than passed beside it.
 */
function withSearchPath(url: string, schema: string | undefined): string {
  if (schema === undefined) return url;
  const target = new URL(url);
  const setting = `-c search_path=${escapeStartupOption(quoteIdent(schema))}`;
  const existing = target.searchParams.get("options");
  target.searchParams.set("options", existing ? `${existing} ${setting}` : setting);
  return target.toString();
}

/** The server splits `options` on whitespace; a backslash keeps the next character literal. */
function escapeStartupOption(value: string): string {
  return value.replace(/[\\\s]/g, (char) => `\\${char}`);
}
