// The mesh CLI run as a user would, against a real control plane that supervises real backends.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPortFree } from "../lib/infra/free-port.ts";
import { infraUrls } from "../test/infra-context.ts";
import { startService, stopAllServices, type SpawnedService } from "../test/spawn-service.ts";

const run = promisify(execFile);
let control: SpawnedService;
let gateway: SpawnedService;
let backendPort: number;

async function freeRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map((p) => isPortFree(p)))).every(Boolean)) return base;
  }
  throw new Error("no free port range");
}

/** The mesh's service secret: control and the gateway run with it, so the CLI must present the credential. */
const serviceSecret = "a-service-secret-for-the-mesh-cli-test-0123456789";

/** Runs `mesh ARGS` with stdout piped (so: plain output), returning its exit code and output. */
async function mesh(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return meshWith({ MESH_SERVICE_SECRET: serviceSecret }, ...args);
}

async function meshWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["cli/mesh.ts", ...args], { env: { PATH: process.env.PATH, MESH_CONTROL_URL: control.url, ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function json<T>(...args: string[]): Promise<T> {
  const res = await mesh("--json", ...args);
  expect(res.stderr).toBe("");
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout) as T;
}

async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
}

type StatusJson = { instances: Array<{ instance: { id: string; state: string }; status?: { activeFaults: unknown[] } }> };

beforeAll(async () => {
  const { databaseUrl, redisUrl } = infraUrls();
  backendPort = await freeRange(3);
  control = await startService({
    name: "control",
    env: {
      INSTANCE_ID: "control-cli",
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      ORCHESTRATOR: "local",
      BACKEND_REPLICAS: "2",
      BACKEND_PORT: String(backendPort),
      HEALTH_PROBE_INTERVAL_MS: "200",
      MESH_SERVICE_SECRET: serviceSecret,
    },
  });
  await eventually(
    () => json<StatusJson>("status"),
    (s) => s.instances.filter((i) => i.instance.state === "SERVING_STATE_SERVING").length === 2,
  );
  // A gateway that finds the backends through the control plane's watch stream.
  gateway = await startService({ name: "gateway", env: { INSTANCE_ID: "gateway-cli", CONTROL_URL: control.url, MESH_SERVICE_SECRET: serviceSecret } });
}, 60_000);

afterAll(async () => {
  await control?.stop("SIGTERM");
  await stopAllServices();
});

describe("mesh CLI against a running mesh", () => {
  it("status shows the registered, healthy backends; piped output is plain text", async () => {
    const res = await mesh("status");
    expect(res.code).toBe(0);
    expect(res.stdout).not.toMatch(/\u001b\[/);
    expect(res.stdout).toMatch(/^mesh healthy/);
    expect(res.stdout).toMatch(new RegExp(`backend\\tbackend-1\\thttp://127.0.0.1:${backendPort}\\tserving`));
    expect(res.stdout).toMatch(new RegExp(`backend\\tbackend-2\\thttp://127.0.0.1:${backendPort + 1}\\tserving`));
  });

  it("chaos inject on backend-1 changes only backend-1, then list and clear", async () => {
    const injected = await json<{ id: string; instanceIds: string[] }>("chaos", "inject", "latency", "--instance", "backend-1", "--duration", "30s", "--latency", "5ms");
    expect(injected.instanceIds).toEqual(["backend-1"]);
    const status = await json<StatusJson>("status");
    const faults = Object.fromEntries(status.instances.map((i) => [i.instance.id, i.status?.activeFaults.length]));
    expect(faults).toEqual({ "backend-1": 1, "backend-2": 0 });
    expect((await json<Array<{ id: string }>>("chaos", "list")).map((f) => f.id)).toEqual([injected.id]);
    expect((await mesh("chaos", "clear", injected.id)).code).toBe(0);
    expect(await json<unknown[]>("chaos", "list")).toEqual([]);
  });

  it("policy set changes the stored policy with a new version", async () => {
    const before = await json<{ version: string }>("policy", "get", "backend");
    const after = await json<{ version: string; loadBalancing: string }>("policy", "set", "backend", "--lb", "peak-ewma", "--attempts", "2");
    expect(BigInt(after.version)).toBe(BigInt(before.version) + 1n);
    expect(after.loadBalancing).toBe("LOAD_BALANCING_PEAK_EWMA");
  });

  it("a crash fault is followed by the supervisor's restart, and the restart is a mesh event", async () => {
    expect((await mesh("chaos", "inject", "crash", "--instance", "backend-2", "--duration", "5s")).code).toBe(0);
    const scale = await eventually(
      () => json<{ instances: Array<{ instanceId: string; restarts: number; state: string }> }>("scale", "backend", "2"),
      (s) => s.instances.some((i) => i.instanceId === "backend-2" && i.restarts >= 1 && i.state === "PROCESS_STATE_RUNNING"),
    );
    expect(scale.instances.find((i) => i.instanceId === "backend-2")?.restarts).toBeGreaterThanOrEqual(1);
    const events = await json<Array<{ message: string }>>("events", "--type", "scaled", "--limit", "5");
    expect(events.some((e) => /backend-2 exited \(code 1\); restarting/.test(e.message))).toBe(true);
  });

  it("scale 2 → 3 → 1 with real processes and no failed call during the scale-down", async () => {
    const up = await json<{ desiredReplicas: number; instances: unknown[] }>("scale", "backend", "3");
    expect(up.desiredReplicas).toBe(3);
    await eventually(
      () => json<StatusJson>("status"),
      (s) => s.instances.filter((i) => i.instance.state === "SERVING_STATE_SERVING").length === 3,
    );
    const created = await fetch(`${gateway.url}/v1/items`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "scaled" }) });
    expect(created.status).toBe(200);
    const { item } = (await created.json()) as { item: { id: string } };

    // Steady reads through the gateway while two of the three backends drain and stop.
    let reading = true;
    const outcomes = { ok: 0, failed: [] as number[] };
    const readers = Array.from({ length: 4 }, async () => {
      while (reading) {
        const res = await fetch(`${gateway.url}/v1/items/${item.id}`).catch(() => undefined);
        if (res?.status === 200) outcomes.ok++;
        else outcomes.failed.push(res?.status ?? 0);
        await res?.arrayBuffer();
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    const down = await json<{ instances: Array<{ instanceId: string }> }>("scale", "backend", "1");
    expect(down.instances.map((i) => i.instanceId)).toEqual(["backend-1"]);
    await new Promise((r) => setTimeout(r, 500));
    reading = false;
    await Promise.all(readers);
    expect(outcomes.failed).toEqual([]);
    expect(outcomes.ok).toBeGreaterThan(0);
    const status = await eventually(() => json<StatusJson>("status"), (s) => s.instances.length === 1);
    expect(status.instances.map((i) => i.instance.id)).toEqual(["backend-1"]);
  });

  it("without the mesh's service secret, control refuses the CLI and says what to set", async () => {
    // No MESH_SERVICE_SECRET (a .mesh/service-secret that `npm start` left here holds another secret).
    const res = await meshWith({}, "--control", control.url, "events", "--limit", "1");
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("MESH_SERVICE_SECRET");
    expect(res.stdout).toBe("");
  });

  it("exit codes mean something: usage 2, not found 3, unreachable 4", async () => {
    expect((await mesh("scale", "backend", "99")).code).toBe(2);
    expect((await mesh("chaos", "inject", "latency", "--duration", "5s")).code).toBe(2);
    const missing = await mesh("chaos", "clear", "no-such-fault");
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/not found/);
    const offline = await run(process.execPath, ["cli/mesh.ts", "status"], { env: { PATH: process.env.PATH, MESH_CONTROL_URL: "http://127.0.0.1:1" } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((offline as { code: number }).code).toBe(4);
    expect((offline as { stderr: string }).stderr).toMatch(/unreachable/);
  });
});
