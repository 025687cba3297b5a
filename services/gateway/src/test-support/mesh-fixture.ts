import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import pg from "pg";
import { Code as RpcCode } from "../../../../gen/google/rpc/code_pb.ts";
import { FaultSchema, FaultService, type Fault } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { PolicyService, ServicePolicySchema } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import { quoteIdent } from "../../../../lib/db/quote-ident.ts";
import { infraUrls, uniqueTestName } from "../../../../test/infra-context.ts";

const sessions: Http2SessionManager[] = [];

/** A gRPC client on a session of its own; closeClients() ends them all. */
export function grpcClient<S extends Parameters<typeof createClient>[0]>(service: S, url: string): Client<S> {
  const sessionManager = new Http2SessionManager(url);
  sessions.push(sessionManager);
  return createClient(service, createGrpcTransport({ baseUrl: url, sessionManager })) as Client<S>;
}

export function closeClients(): void {
  for (const session of sessions.splice(0)) session.abort();
}

/** A database of its own for a test file (control's policies and the backends' tables), dropped afterwards. */
export async function createTestDatabase(label: string): Promise<{ url: string; query<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<T[]>; drop(): Promise<void> }> {
  const { databaseUrl } = infraUrls();
  const name = uniqueTestName(label);
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
  await admin.end();
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  return {
    url: url.toString(),
    async query<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []) {
      return (await pool.query<T>(sql, values)).rows;
    },
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Sums a metric's samples whose labels include `labels`, from a service's /metrics. */
export async function metricSum(baseUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    const value = Number(line.split(" ")[1]);
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

export async function setPolicy(controlUrl: string, policy: Parameters<typeof create<typeof ServicePolicySchema>>[1]): Promise<void> {
  await grpcClient(PolicyService, controlUrl).setPolicy({ policy: create(ServicePolicySchema, { service: "backend", ...policy }) });
}

export async function injectFault(backendUrl: string, spec: Fault["spec"], methods: string[] = [], durationMs = 600_000): Promise<void> {
  await grpcClient(FaultService, backendUrl).injectFault({ fault: create(FaultSchema, { spec, methods, duration: durationFromMs(durationMs), source: "test" }) });
}

export async function clearFaults(backendUrl: string): Promise<void> {
  await grpcClient(FaultService, backendUrl).clearFaults({});
}

export const unavailable = (rate = 1): Fault["spec"] => ({ case: "errorRate", value: { rate, code: RpcCode.UNAVAILABLE } as never });

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `read` until `accept` holds (or the time is up) and returns the last value. */
export async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await sleep(100);
  }
}
