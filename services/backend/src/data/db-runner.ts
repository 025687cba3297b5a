import { createHash } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  ConsecutiveBreaker,
  ExponentialBackoff,
  bulkhead,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
  type CircuitBreakerPolicy,
} from "cockatiel";
import type pg from "pg";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import { DependencyFaultError, type DependencyFaultGate } from "../faults/dependency-fault-gate.ts";
import type { Call } from "./call-context.ts";
import type { DataMetrics } from "./data-metrics.ts";
import { isConnectionFailure, isRetryableRead, isRetryableWrite } from "./db-errors.ts";
import { raceSignal } from "../../../../lib/async/race-signal.ts";
import { queryWithTimeout } from "../../../../lib/db/query-with-timeout.ts";

/** Runs one statement on the unit of work's connection; `operation` names it in metrics and slow-query logs. */
export type Query = <R extends pg.QueryResultRow = Record<string, unknown>>(
  operation: string,
  text: string,
  values?: readonly unknown[],
) => Promise<pg.QueryResult<R>>;

export interface DbRunnerOptions {
  /** Upper bound of every statement; the call's remaining deadline lowers it. @default 5000 */
  statementTimeoutMs?: number;
  /** Statements slower than this are logged. @default 100 */
  slowQueryMs?: number;
  /** Retries of a transient failure where safe. @default 3 */
  retries?: number;
  /** First backoff delay; later ones grow exponentially with decorrelated jitter. @default 25 */
  retryBaseMs?: number;
  /** Consecutive connection failures that open the breaker. @default 5 */
  breakerThreshold?: number;
  /** How long the open breaker refuses calls before one trial call. @default 1000 */
  breakerHalfOpenMs?: number;
  /** Units of work running at once: the pool's size, so that the pool itself never queues. @default 10 */
  concurrency?: number;
  /** Units of work waiting for a slot; beyond it calls fail at once with ResourceExhausted. @default 100 */
  queueLimit?: number;
}

export interface DbRunnerDeps {
  pool: pg.Pool;
  gate: DependencyFaultGate;
  logger: Logger;
  metrics: Pick<DataMetrics, "dbQueryDuration" | "circuitOpen" | "dbRetries">;
}

export interface DbRunner {
  /** Read-only work on one pooled connection, retried on any transient failure. */
  read<T>(call: Call, operation: string, work: (query: Query) => Promise<T>): Promise<T>;
  /** Work in one transaction, retried only when the failure proves nothing was committed. */
  write<T>(call: Call, operation: string, work: (query: Query) => Promise<T>): Promise<T>;
  /**
   * A write that is one statement (data-modifying CTEs can hold several changes), which PostgreSQL runs as
   * a transaction of its own: no BEGIN or COMMIT round trips, and the session's statement_timeout (set
   * only when it changes, as for reads). `work` may run one query; a second throws. The statement is its
   * own commit: once sent it is retried only after a conflict PostgreSQL rolled back, and a cancelled call
   * asks the server to stop it but still awaits its outcome, so that a statement that committed is always
   * reported as committed. It is prepared on each connection, which parses and plans it once.
   * `repeatable`: running the statement twice is harmless (a create under an idempotency key, whose claim
   * turns a repeat into a replay), so a lost connection after sending it is retried like one before.
   */
  writeStatement<T>(call: Call, operation: string, work: (query: Query) => Promise<T>, options?: { repeatable?: boolean }): Promise<T>;
}

/**
 * Statement timeouts outside transactions are set per session; remember each connection's so that work
 * skips a redundant SET.
 */
const sessionTimeouts = new WeakMap<pg.PoolClient, number>();

/**
 * What a session's statement_timeout is set to for a remaining `ms`: rounded down to three significant
 * digits (at most 1 % shorter), so that calls with similar deadlines find it already set on their
 * connection and skip the SET's round trip. Never longer than `ms`.
 */
export function sessionTimeoutMs(ms: number): number {
  const step = 10 ** Math.max(0, String(Math.floor(ms)).length - 3);
  return Math.floor(ms / step) * step;
}

/**
 * Bound of the request that cancels an abandoned statement. It runs on another pooled connection, under a
 * timeout of its own rather than whatever that connection's session was last set to.
 */
const cancelTimeoutMs = 1000;

/** Distinct statements a runner prepares at most. */
const maxPreparedStatements = 64;

/**
 * What an abort does to a statement in flight: `abandon` stops waiting for it (the connection is then
 * destroyed, which rolls an open transaction back); `cancel` asks the server to stop it but still awaits
 * its outcome, for a statement that commits by itself; `ignore` awaits it regardless.
 */
type OnAbort = "abandon" | "cancel" | "ignore";

/**
 * PostgreSQL access for the data layer. Every unit of work goes through retry (exponential backoff with
 * jitter, only where safe), a circuit breaker that opens on connection failures, so that with the database
 * down calls fail fast with Unavailable and recover by themselves, and a bulkhead sized to the pool. Each statement passes the dependency fault
 * gate, runs under a statement_timeout no longer than the call's remaining deadline, is raced against the
 * call's signal (an abandoned statement is cancelled and its connection destroyed, which rolls its
 * transaction back; a statement that commits by itself is cancelled and awaited), and is measured.
 */
export function createDbRunner(deps: DbRunnerDeps, options: DbRunnerOptions = {}): DbRunner {
  const { pool, gate, logger, metrics } = deps;
  const statementTimeoutMs = options.statementTimeoutMs ?? 5000;
  const slowQueryMs = options.slowQueryMs ?? 100;
  const backoff = new ExponentialBackoff({ initialDelay: options.retryBaseMs ?? 25, maxDelay: 1000 });
  const maxAttempts = options.retries ?? 3;

  const breaker: CircuitBreakerPolicy = circuitBreaker(handleWhen(isConnectionFailure), {
    halfOpenAfter: options.breakerHalfOpenMs ?? 1000,
    breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 5),
  });
  breaker.onBreak(() => {
    metrics.circuitOpen.set({ dependency: "database" }, 1);
    logger.warn("PostgreSQL circuit breaker opened: failing database calls fast");
  });
  breaker.onReset(() => {
    metrics.circuitOpen.set({ dependency: "database" }, 0);
    logger.info("PostgreSQL circuit breaker closed: database calls resumed");
  });

  // Under overload, excess work is refused (ResourceExhausted) instead of piling up behind the pool.
  const slots = bulkhead(options.concurrency ?? 10, options.queueLimit ?? 100);

  /** Errors thrown after COMMIT was sent over a connection that then failed: the outcome is unknown. */
  const commitUnknown = new WeakSet<object>();
  const readPolicy = wrap(retry(handleWhen(isRetryableRead), { maxAttempts, backoff }), breaker, slots);
  const writePolicy = wrap(
    retry(
      handleWhen((err) => isRetryableWrite(err, typeof err === "object" && err !== null && commitUnknown.has(err))),
      { maxAttempts, backoff },
    ),
    breaker,
    slots,
  );

  // Connections open with the pool's statement_timeout: reads at that value need no SET of their own.
  const poolTimeout = pool.options.statement_timeout;
  if (typeof poolTimeout === "number") pool.on("connect", (client) => sessionTimeouts.set(client, poolTimeout));

  function timeoutFor(call: Call): number {
    if (call.deadline === undefined) return statementTimeoutMs;
    const remaining = Math.floor(call.deadline - Date.now());
    if (remaining <= 0) throw new ConnectError("the deadline passed before the database was called", Code.DeadlineExceeded);
    return Math.min(statementTimeoutMs, remaining);
  }

  async function acquire(call: Call): Promise<pg.PoolClient> {
    if (call.signal.aborted) throw call.signal.reason;
    const pending = pool.connect();
    return raceSignal(pending, call.signal, () => {
      pending.then((client) => client.release(), () => {});
    });
  }

  /** Prepared statement names by text; bounded, in case a caller's texts were not a fixed set. */
  const preparedNames = new Map<string, string>();

  /**
   * A name for `text` as a prepared statement, so that each connection parses and plans it once (for the
   * long data-modifying statements that is most of their cost); undefined once too many texts were seen.
   * Derived from the text, so that runners sharing a pool agree on it.
   */
  function preparedName(text: string): string | undefined {
    let name = preparedNames.get(text);
    if (name === undefined && preparedNames.size < maxPreparedStatements) {
      name = `data_${createHash("sha256").update(text).digest("base64url").slice(0, 32)}`;
      preparedNames.set(text, name);
    }
    return name;
  }

  interface Session {
    readonly client: pg.PoolClient;
    /**
     * The signal won a race, or a cancel request was sent: the connection's state is unknown (a late
     * cancel could hit its next statement) and it must not be reused.
     */
    abandoned: boolean;
  }

  async function run<R extends pg.QueryResultRow>(
    session: Session,
    call: Call,
    operation: string,
    text: string,
    values: readonly unknown[] | undefined,
    how: { onAbort?: OnAbort; onSend?: () => void; prepare?: boolean } = {},
  ): Promise<pg.QueryResult<R>> {
    const onAbort = how.onAbort ?? "abandon";
    if (onAbort !== "ignore" && call.signal.aborted) throw call.signal.reason;
    await gate.pass("database", call.procedure, call.signal);
    how.onSend?.();
    const started = performance.now();
    let outcome = "error";
    try {
      const name = how.prepare ? preparedName(text) : undefined;
      const pending = session.client.query<R>({ text, values: values as unknown[] | undefined, ...(name === undefined ? {} : { name }) });
      const result =
        onAbort === "abandon"
          ? await raceSignal(pending, call.signal, () => {
              session.abandoned = true;
              cancelBackend(session.client);
            })
          : onAbort === "cancel"
            ? await cancelOnAbort(session, pending, call.signal)
            : await pending;
      outcome = "ok";
      return result;
    } finally {
      const ms = performance.now() - started;
      metrics.dbQueryDuration.observe({ operation, outcome }, ms / 1000);
      if (ms > slowQueryMs) {
        logger.warn({ operation, duration_ms: Math.round(ms), procedure: call.procedure, outcome }, "slow query");
      }
    }
  }

  /**
   * Asks PostgreSQL to cancel what an abandoned connection is running: closing the socket alone would leave
   * the statement running (holding its locks) until it next talks to the client. Best effort, off the call path.
   */
  function cancelBackend(client: pg.PoolClient): void {
    const pid = (client as unknown as { processID?: unknown }).processID;
    // Inlined: the cancel is a simple query (for its own timeout), which cannot take parameters.
    if (typeof pid !== "number" || !Number.isSafeInteger(pid) || pid <= 0) return;
    queryWithTimeout(pool, `SELECT pg_cancel_backend(${pid})`, cancelTimeoutMs).catch(() => {});
  }

  /**
   * Awaits a statement that commits by itself. On abort the server is asked to stop it; its outcome is
   * still awaited: a statement that completed anyway has committed and is reported so, one that failed
   * did not commit and fails with the call's reason.
   */
  async function cancelOnAbort<R>(session: Session, pending: Promise<R>, signal: AbortSignal): Promise<R> {
    const cancel = () => {
      session.abandoned = true;
      cancelBackend(session.client);
    };
    signal.addEventListener("abort", cancel, { once: true });
    try {
      return await pending;
    } catch (err) {
      throw signal.aborted ? signal.reason : err;
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  }

  function queryFor(session: Session, call: Call): Query {
    return (operation, text, values) => run(session, call, operation, text, values);
  }

  /** Sets the session's statement_timeout for `call`, unless the connection already has it. */
  async function useSessionTimeout(session: Session, call: Call): Promise<void> {
    const timeout = sessionTimeoutMs(timeoutFor(call));
    if (sessionTimeouts.get(session.client) === timeout) return;
    await run(session, call, "set_statement_timeout", `SET statement_timeout = ${timeout}`, undefined);
    sessionTimeouts.set(session.client, timeout);
  }

  /** Whether the connection may go back to the pool after `err`. */
  function reusable(session: Session, err: unknown): boolean {
    if (session.abandoned) return false;
    return err === undefined || err instanceof DependencyFaultError || !isConnectionFailure(err);
  }

  function countRetry(attempt: number, operation: string): void {
    if (attempt > 0) {
      metrics.dbRetries.inc({ operation });
      logger.debug({ operation, attempt }, "retrying a transient database failure");
    }
  }

  return {
    read(call, operation, work) {
      return readPolicy.execute(async ({ attempt }) => {
        countRetry(attempt, operation);
        const session: Session = { client: await acquire(call), abandoned: false };
        let failure: unknown;
        try {
          await useSessionTimeout(session, call);
          return await work(queryFor(session, call));
        } catch (err) {
          failure = err;
          throw err;
        } finally {
          session.client.release(!reusable(session, failure));
        }
      }, call.signal);
    },

    write(call, operation, work) {
      return writePolicy.execute(async ({ attempt }) => {
        countRetry(attempt, operation);
        const session: Session = { client: await acquire(call), abandoned: false };
        let failure: unknown;
        let commitSent = false;
        try {
          await run(session, call, "begin", `BEGIN; SET LOCAL statement_timeout = ${timeoutFor(call)}`, undefined);
          const result = await work(queryFor(session, call));
          // Not raced: once COMMIT is sent its outcome is awaited, so a write that commits is always followed
          // by its cache invalidation.
          await run(session, call, "commit", "COMMIT", undefined, {
            onAbort: "ignore",
            onSend: () => {
              commitSent = true;
            },
          });
          return result;
        } catch (err) {
          failure = err;
          if (commitSent && isConnectionFailure(err) && typeof err === "object" && err !== null) commitUnknown.add(err);
          if (!commitSent && reusable(session, err)) {
            await session.client.query("ROLLBACK").catch(() => {
              session.abandoned = true;
            });
          }
          throw err;
        } finally {
          session.client.release(!reusable(session, failure));
        }
      }, call.signal);
    },

    writeStatement(call, operation, work, options = {}) {
      return writePolicy.execute(async ({ attempt }) => {
        countRetry(attempt, operation);
        const session: Session = { client: await acquire(call), abandoned: false };
        let failure: unknown;
        let sent = false;
        try {
          await useSessionTimeout(session, call);
          let used = false;
          const statement: Query = (statementOperation, text, values) => {
            if (used) throw new Error(`${operation} is a single-statement write but ran a second statement`);
            used = true;
            return run(session, call, statementOperation, text, values, {
              onAbort: "cancel",
              prepare: true,
              onSend: () => {
                sent = true;
              },
            });
          };
          return await work(statement);
        } catch (err) {
          failure = err;
          if (sent && !options.repeatable && isConnectionFailure(err) && typeof err === "object" && err !== null) commitUnknown.add(err);
          throw err;
        } finally {
          session.client.release(!reusable(session, failure));
        }
      }, call.signal);
    },
  };
}
