import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import { create, fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, durationMs, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type pg from "pg";
import { EventType } from "../../../../gen/mesh/control/v1/events_pb.ts";
import {
  LoadTestProgressSchema,
  LoadTestSchema,
  LoadTestSpecSchema,
  LoadTestState,
  type LoadTest,
  type LoadTestSpec,
} from "../../../../gen/mesh/control/v1/load_test_pb.ts";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import { durationFromMillis } from "../../../../lib/proto/duration-from-millis.ts";
import type { EventLog } from "../events/event-log.ts";
import type { ProgressReport } from "./load-progress.ts";
import type { WorkerSpec } from "./load-worker.ts";
import { targetKey } from "./validate-load-spec.ts";

export interface LoadTestRunnerDeps {
  pool: pg.Pool;
  events: Pick<EventLog, "append">;
  logger: Logger;
  /** Base URL of the gateway the tests go through. */
  gatewayUrl: string;
  /** Sent as a bearer token with every request, for a gateway that checks tokens. */
  bearerToken?: string | undefined;
}

export interface LoadTestRunner {
  start(spec: LoadTestSpec, force: boolean): Promise<LoadTest>;
  stop(id: string): Promise<LoadTest>;
  get(id: string): Promise<LoadTest>;
  /** Newest first; `before` is the start time and id of the last test of the previous page. */
  list(limit: number, before?: { startTime: Date; id: string }): Promise<LoadTest[]>;
  /** Called with every progress update of a test until it ends. Returns the unsubscribe. */
  watch(id: string, listener: (test: LoadTest) => void): () => void;
  /** Stops every running test (control shutdown). */
  close(): Promise<void>;
}

interface Running {
  test: LoadTest;
  listeners: Set<(test: LoadTest) => void>;
  /** Resolves once the result is stored. */
  finished: Promise<void>;
  /** Asks the worker to stop early; the test ends STOPPED with what it measured. */
  stop(): void;
}

function progressOf(report: ProgressReport) {
  return create(LoadTestProgressSchema, {
    sent: BigInt(report.sent),
    succeeded: BigInt(report.succeeded),
    failed: BigInt(report.failed),
    failuresByCode: Object.fromEntries(Object.entries(report.failuresByCode).map(([k, v]) => [k, BigInt(v)])),
    achievedRate: report.achievedRate,
    latencyP50: durationFromMillis(report.p50Ms),
    latencyP95: durationFromMillis(report.p95Ms),
    latencyP99: durationFromMillis(report.p99Ms),
    latencyMax: durationFromMillis(report.maxMs),
    elapsed: durationFromMillis(report.elapsedMs),
  });
}

interface LoadTestRow {
  id: string;
  spec: JsonValue;
  progress: JsonValue;
  state: number;
  error: string;
  start_time: Date;
  end_time: Date | null;
}

function toLoadTest(row: LoadTestRow): LoadTest {
  return create(LoadTestSchema, {
    id: row.id,
    spec: fromJson(LoadTestSpecSchema, row.spec, { ignoreUnknownFields: true }),
    progress: fromJson(LoadTestProgressSchema, row.progress, { ignoreUnknownFields: true }),
    state: row.state as LoadTestState,
    error: row.error,
    startTime: timestampFromDate(row.start_time),
    endTime: row.end_time ? timestampFromDate(row.end_time) : undefined,
  });
}

function workerSpecOf(spec: LoadTestSpec, gatewayUrl: string, bearerToken: string | undefined): WorkerSpec {
  const auth: Record<string, string> = bearerToken === undefined ? {} : { authorization: `Bearer ${bearerToken}` };
  const base = {
    concurrency: spec.concurrency,
    requestsPerSecond: spec.requestsPerSecond,
    durationMs: durationMs(spec.duration!),
    reportEveryMs: 500,
  };
  if (spec.target.case === "http") {
    const { method, path, body } = spec.target.value;
    const hasBody = body !== undefined && method.toUpperCase() !== "GET" && method.toUpperCase() !== "DELETE";
    return {
      ...base,
      url: new URL(path, gatewayUrl).toString(),
      method: method.toUpperCase(),
      headers: hasBody ? { ...auth, "content-type": "application/json" } : auth,
      body: hasBody ? JSON.stringify(toJson(ValueSchema, body)) : undefined,
      protocol: "http",
    };
  }
  const rpc = spec.target.value!;
  return {
    ...base,
    url: new URL(`/${rpc.method}`, gatewayUrl).toString(),
    method: "POST",
    headers: { ...auth, "content-type": "application/json", "connect-protocol-version": "1" },
    body: JSON.stringify(rpc.request ?? {}),
    protocol: "connect",
  };
}

const columns = "id, spec, progress, state, error, start_time, end_time";

/** Runs load tests in worker threads, streams their progress, and stores them in PostgreSQL. */
export function createLoadTestRunner(deps: LoadTestRunnerDeps): LoadTestRunner {
  const { pool, logger } = deps;
  const running = new Map<string, Running>();

  async function persist(test: LoadTest): Promise<void> {
    await pool.query("UPDATE load_tests SET progress = $2, state = $3, error = $4, end_time = $5 WHERE id = $1", [
      test.id,
      JSON.stringify(toJson(LoadTestProgressSchema, test.progress!)),
      test.state,
      test.error,
      test.endTime ? timestampDate(test.endTime) : null,
    ]);
  }

  return {
    async start(spec, force) {
      const key = targetKey(spec);
      const clash = [...running.values()].find((r) => targetKey(r.test.spec!) === key);
      if (clash && !force) {
        throw new ConnectError(`load test ${clash.test.id} already runs against ${key}; stop it or pass force`, Code.FailedPrecondition);
      }
      const id = randomUUID();
      const startTime = new Date();
      const test = create(LoadTestSchema, { id, spec, state: LoadTestState.RUNNING, progress: create(LoadTestProgressSchema), startTime: timestampFromDate(startTime) });
      await pool.query("INSERT INTO load_tests (id, name, target, spec, state, start_time) VALUES ($1, $2, $3, $4, $5, $6)", [
        id,
        spec.name,
        key,
        JSON.stringify(toJson(LoadTestSpecSchema, spec)),
        LoadTestState.RUNNING,
        startTime,
      ]);
      const worker = new Worker(new URL("./load-worker.ts", import.meta.url), { workerData: workerSpecOf(spec, deps.gatewayUrl, deps.bearerToken) });
      let stopped = false;
      const listeners = new Set<(test: LoadTest) => void>();
      const finished = new Promise<void>((resolve) => {
        const finish = async (state: LoadTestState, error: string) => {
          if (!running.has(id)) return resolve();
          running.delete(id);
          test.state = stopped && state === LoadTestState.COMPLETED ? LoadTestState.STOPPED : state;
          test.error = error;
          test.endTime = timestampFromDate(new Date());
          for (const listener of listeners) listener(test);
          await persist(test).catch((err: unknown) => logger.error({ err, load_test_id: id }, "could not store a load test result"));
          await deps.events
            .append({ type: EventType.LOAD_TEST_FINISHED, message: `load test ${id} against ${key} ended: ${test.progress?.sent ?? 0n} sent, ${test.progress?.failed ?? 0n} failed`, attributes: { id } })
            .catch(() => undefined);
          void worker.terminate();
          resolve();
        };
        worker.on("message", (report: ProgressReport) => {
          test.progress = progressOf(report);
          if (report.done) void finish(report.error ? LoadTestState.FAILED : LoadTestState.COMPLETED, report.error ?? "");
          else for (const listener of listeners) listener(test);
        });
        worker.on("error", (err) => void finish(LoadTestState.FAILED, err.message));
        worker.on("exit", () => void finish(LoadTestState.FAILED, "the load worker exited"));
      });
      running.set(id, {
        test,
        listeners,
        finished,
        stop() {
          stopped = true;
          worker.postMessage("stop");
        },
      });
      await deps.events.append({ type: EventType.LOAD_TEST_STARTED, message: `load test ${id} started against ${key}`, attributes: { id, target: key } });
      return test;
    },
    async stop(id) {
      const entry = running.get(id);
      if (!entry) return this.get(id);
      entry.stop();
      await entry.finished;
      return entry.test;
    },
    async get(id) {
      const live = running.get(id);
      if (live) return live.test;
      if (!/^[0-9a-f-]{36}$/i.test(id)) throw new ConnectError(`load test ${JSON.stringify(id)} not found`, Code.NotFound);
      const { rows } = await pool.query<LoadTestRow>(`SELECT ${columns} FROM load_tests WHERE id = $1`, [id]);
      if (!rows[0]) throw new ConnectError(`load test ${JSON.stringify(id)} not found`, Code.NotFound);
      return toLoadTest(rows[0]);
    },
    async list(limit, before) {
      const { rows } = before
        ? await pool.query<LoadTestRow>(`SELECT ${columns} FROM load_tests WHERE (start_time, id) < ($1, $2) ORDER BY start_time DESC, id DESC LIMIT $3`, [
            before.startTime,
            before.id,
            limit,
          ])
        : await pool.query<LoadTestRow>(`SELECT ${columns} FROM load_tests ORDER BY start_time DESC, id DESC LIMIT $1`, [limit]);
      return rows.map((row) => running.get(row.id)?.test ?? toLoadTest(row));
    },
    watch(id, listener) {
      const entry = running.get(id);
      if (!entry) return () => undefined;
      entry.listeners.add(listener);
      return () => entry.listeners.delete(listener);
    },
    async close() {
      await Promise.all(
        [...running.values()].map((entry) => {
          entry.stop();
          return entry.finished;
        }),
      );
    },
  };
}
