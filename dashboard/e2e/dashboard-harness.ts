// What the dashboard's browser tests share: a real mesh (control supervising two backends with
// ORCHESTRATOR=local, a gateway with JWT auth serving the built dashboard), headless Chromium, sign-in and
// screenshots. Use it from `*.infra.test.ts` files (the infra tier starts PostgreSQL and Redis):
//
//   const env = useDashboardMesh("my_test");
//   it("…", async () => { const page = await openDashboard(env.browser, env.mesh, { role: "admin", route: "chaos" }); … });
import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { createClient } from "@connectrpc/connect";
import { signRoleToken } from "../../lib/auth/sign-role-token.ts";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { ScalingService } from "../../gen/mesh/control/v1/scaling_pb.ts";
import { RegistryService, ServingState } from "../../gen/mesh/control/v1/registry_pb.ts";
import { getFreePort, isPortFree } from "../../lib/infra/free-port.ts";
import { ensureDashboardBuilt } from "../../scripts/build-dashboard.ts";
import { closeClients, createTestDatabase, eventually, grpcClient } from "../../services/gateway/src/test-support/mesh-fixture.ts";
import { infraUrls } from "../../test/infra-context.ts";
import { startService, stopAllServices, type SpawnedService } from "../../test/spawn-service.ts";

const repo = resolve(import.meta.dirname, "../..");
/** Screenshots land here (gitignored): look at them. */
export const screenshotDir = resolve(repo, ".tmp/screenshots");

const jwtSecret = "dashboard-e2e-secret-0123456789abcdef-0123456789";
const jwtIssuer = "connect-mesh-e2e";
const jwtAudience = "connect-mesh";

export type Role = "admin" | "user";

export interface DashboardMesh {
  readonly control: SpawnedService;
  readonly gateway: SpawnedService;
  /** http://127.0.0.1:PORT of the gateway; the dashboard is at `${gatewayUrl}/dashboard/`. */
  readonly gatewayUrl: string;
  readonly controlUrl: string;
  /** backend-1, backend-2 in order. */
  readonly backendUrls: readonly string[];
  /** Tokens the gateway accepts, valid for an hour: subject `e2e-admin` with role admin, `e2e-user` with user. */
  readonly tokens: Readonly<Record<Role, string>>;
  /** The current process id of a supervised backend ("backend-1"), from control's ScalingService. */
  backendPid(instanceId: string): Promise<number>;
  /** Resolves once control's registry says every backend is SERVING (or rejects after `timeoutMs`). */
  untilBackendsServing(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map((p) => isPortFree(p)))).every(Boolean)) return base;
  }
  throw new Error("no free range of ports for the backends");
}

export function signToken(subject: string, roles: string[], expiresIn = "1h"): Promise<string> {
  return signRoleToken({ secret: jwtSecret, issuer: jwtIssuer, audience: jwtAudience, subject, roles, expiresIn });
}

/**
 * Builds the dashboard if its sources changed, then starts control (supervising `backends` backends on a
 * database of its own) and a gateway with JWT auth, as `npm start` does, and waits until every backend is
 * SERVING in control's registry. `label` names the test database.
 */
export async function startDashboardMesh(label: string, options: { backends?: number } = {}): Promise<DashboardMesh> {
  const backends = options.backends ?? 2;
  await ensureDashboardBuilt(() => {});
  const { redisUrl } = infraUrls();
  const database = await createTestDatabase(label);
  const backendPort = await freePortRange(backends);
  const gatewayPort = await getFreePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const tokens = { admin: await signToken("e2e-admin", ["admin"]), user: await signToken("e2e-user", ["user"]) };
  let control: SpawnedService | undefined;
  try {
    control = await startService({
      name: "control",
      env: {
        INSTANCE_ID: "control-e2e",
        DATABASE_URL: database.url,
        REDIS_URL: redisUrl,
        ORCHESTRATOR: "local",
        BACKEND_REPLICAS: String(backends),
        BACKEND_PORT: String(backendPort),
        BACKEND_DB_POOL_MAX: "4",
        HEALTH_PROBE_INTERVAL_MS: "250",
        GATEWAY_URL: gatewayUrl,
        LOAD_TEST_BEARER_TOKEN: tokens.admin,
      },
    });
    const controlUrl = control.url;
    const backendUrls = Array.from({ length: backends }, (_, i) => `http://127.0.0.1:${backendPort + i}`);
    const registry = grpcClient(RegistryService, controlUrl);
    const untilBackendsServing = async (timeoutMs = 60_000) => {
      const serving = await eventually(
        async () => (await registry.listInstances({ service: "backend" }).catch(() => ({ instances: [] }))).instances.filter((i) => i.state === ServingState.SERVING).length,
        (n) => n >= backends,
        timeoutMs,
      );
      if (serving < backends) throw new Error(`only ${serving} of ${backends} backends SERVING after ${timeoutMs} ms\n${control!.output().stdout.slice(-40).join("\n")}`);
    };
    await untilBackendsServing();
    const gateway = await startService({
      name: "gateway",
      env: {
        PORT: String(gatewayPort),
        INSTANCE_ID: "gateway-e2e",
        CONTROL_URL: controlUrl,
        UPSTREAMS: backendUrls.join(","),
        JWT_SECRET: jwtSecret,
        JWT_ISSUER: jwtIssuer,
        JWT_AUDIENCE: jwtAudience,
        BREAKER_REPORT_INTERVAL_MS: "500",
        JAEGER_UI_URL: "http://127.0.0.1:16686",
      },
    });
    const scaling = grpcClient(ScalingService, controlUrl);
    return {
      control,
      gateway,
      gatewayUrl,
      controlUrl,
      backendUrls,
      tokens,
      untilBackendsServing,
      async backendPid(instanceId) {
        const { scale } = await scaling.getScale({ service: "backend" });
        const pid = scale?.instances.find((i) => i.instanceId === instanceId)?.pid ?? 0;
        if (pid === 0) throw new Error(`control supervises no running ${instanceId}`);
        return pid;
      },
      async stop() {
        closeClients();
        // SIGTERM lets control stop its backends before it exits.
        await control?.stop("SIGTERM", 15_000);
        await stopAllServices();
        await database.drop().catch(() => {});
      },
    };
  } catch (err) {
    await control?.stop("SIGTERM", 15_000);
    await stopAllServices();
    await database.drop().catch(() => {});
    throw err;
  }
}

/** What `useDashboardMesh` gives a test file: both are set once its `beforeAll` has run. */
export interface DashboardTestEnv {
  readonly mesh: DashboardMesh;
  readonly browser: Browser;
}

/**
 * Starts a dashboard mesh (see `startDashboardMesh`; `label` names its database) and Chromium before the
 * calling file's tests, and stops both after them. Call it at the top level of a test file.
 */
export function useDashboardMesh(label: string): DashboardTestEnv {
  const env = {} as { mesh: DashboardMesh; browser: Browser };
  beforeAll(async () => {
    // The browser first: without Chromium, fail at once rather than after starting a mesh.
    env.browser = await launchBrowser();
    env.mesh = await startDashboardMesh(label);
  }, 180_000);
  afterAll(async () => {
    await env.browser?.close();
    await env.mesh?.stop();
  }, 60_000);
  return env;
}

/** One read through the gateway (GET /v1/items) with the user's token; the answer is read and dropped. */
export async function readThroughGateway(mesh: DashboardMesh, signal?: AbortSignal): Promise<void> {
  const res = await fetch(`${mesh.gatewayUrl}/v1/items?page_size=1`, { headers: { authorization: `Bearer ${mesh.tokens.user}` }, signal });
  await res.arrayBuffer();
}

/**
 * Reads through the gateway, three at a time with `pauseMs` between a caller's reads, until `signal` aborts,
 * so the gateway's breakers and traffic figures have calls to judge. Failures are ignored: under a fault
 * they are the point.
 */
export async function driveReadTraffic(mesh: DashboardMesh, signal: AbortSignal, pauseMs = 20): Promise<void> {
  const one = async () => {
    while (!signal.aborted) {
      try {
        await readThroughGateway(mesh, signal);
      } catch {
        // Aborted, or the gateway refused: keep going until told to stop.
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  await Promise.all([one(), one(), one()]);
}

/** The browser the tests drive: Debian's package, never one playwright downloads. */
export const chromiumPath = "/usr/bin/chromium";

/**
 * Debian's Chromium, headless, through playwright-core (never a downloaded browser). Without it, fails
 * with one line that says what is missing and how to install it, rather than playwright's own advice.
 */
export async function launchBrowser(executablePath = chromiumPath): Promise<Browser> {
  if (!existsSync(executablePath)) {
    const missing = new Error(`${executablePath} is missing: the dashboard's browser tests drive Debian's Chromium through playwright-core; install it with \`apt-get install -y chromium\``);
    // The line says it all: no stack under it.
    missing.stack = `Error: ${missing.message}`;
    throw missing;
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

export interface OpenOptions {
  /** Sign in with this role's token through the page's form; omit to stay signed out. */
  role?: Role;
  /** A token of your own instead of a role's. */
  token?: string;
  /** The view, as in `#/chaos`. @default "overview" */
  route?: string;
  /** Viewport width in CSS pixels. @default 1280 */
  width?: number;
}

/**
 * The page's console errors, uncaught exceptions and CSP violations so far, and the layout faults
 * `screenshotAtWidths` found (assert it stays empty).
 */
export function pageProblems(page: Page): string[] {
  return problems.get(page) ?? [];
}
const problems = new WeakMap<Page, string[]>();

/** Opens the dashboard in a fresh browser context (its own sessionStorage), signed in when asked. */
export async function openDashboard(browser: Browser, mesh: DashboardMesh, options: OpenOptions = {}): Promise<Page> {
  const width = options.width ?? 1280;
  const context = await browser.newContext({ viewport: { width, height: width < 600 ? 844 : 800 } });
  const page = await context.newPage();
  const seen: string[] = [];
  problems.set(page, seen);
  page.on("console", (message) => {
    if (message.type() === "error") seen.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => seen.push(`page error: ${error.message}`));
  page.on("close", () => void context.close().catch(() => {}));
  await page.goto(`${mesh.gatewayUrl}/dashboard/#/${options.route ?? "overview"}`);
  const token = options.token ?? (options.role ? mesh.tokens[options.role] : undefined);
  if (token !== undefined) await signIn(page, token);
  return page;
}

/** Fills the page's sign-in form with `token` and waits until the header offers Sign out. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel("Bearer token (JWT)").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor({ timeout: 15_000 });
}

/** Goes to a view through the navigation, as a person would. */
export async function goToView(page: Page, label: "Overview" | "Traffic" | "Chaos" | "Load tests" | "Events"): Promise<void> {
  await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: label, exact: true }).click();
  await page.locator("#view-title", { hasText: label }).waitFor();
}

/**
 * Saves a full-page screenshot as `.tmp/screenshots/<name>-<width>.png` at each width (default 1280 and 390
 * CSS pixels), restoring the viewport afterwards. Returns the paths.
 */
export async function screenshotAtWidths(page: Page, name: string, widths: readonly number[] = [1280, 390]): Promise<string[]> {
  mkdirSync(screenshotDir, { recursive: true });
  const before = page.viewportSize();
  const paths: string[] = [];
  for (const width of widths) {
    await page.setViewportSize({ width, height: width < 600 ? 844 : 800 });
    // Let the layout and any chart resize settle on the next frames.
    await page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))");
    const path = resolve(screenshotDir, `${name}-${width}.png`);
    await page.screenshot({ path, fullPage: true });
    paths.push(path);
    // A live chart can be caught between new data and its axes' next sizing pass: a fault counts when it is
    // still there a few frames later.
    let faults = await layoutFaults(page);
    if (faults.length > 0) {
      await page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(done))))");
      const again = new Set(await layoutFaults(page));
      faults = faults.filter((fault) => again.has(fault));
    }
    problems.get(page)?.push(...faults.map((fault) => `layout at ${width} px (${name}): ${fault}`));
  }
  if (before) await page.setViewportSize(before);
  return paths;
}

/**
 * What is cut off on the page as it is laid out now: a page wider than the viewport (sideways scrolling),
 * and charts whose canvas is wider than its box or has ink in its first or last pixel column (an axis label
 * running off the canvas).
 */
export async function layoutFaults(page: Page): Promise<string[]> {
  // A string, not a function: the page runs it as it is, untouched by the test's TypeScript transform.
  return page.evaluate(`(() => {
    const faults = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > innerWidth) faults.push("the page is " + doc.scrollWidth + " px wide");
    for (const figure of document.querySelectorAll("figure.ts-chart")) {
      const title = figure.querySelector("figcaption")?.textContent ?? "a chart";
      const holder = figure.querySelector(".ts-chart-plot");
      const canvas = holder?.querySelector("canvas");
      if (!holder || !canvas) continue;
      const room = holder.getBoundingClientRect().width, used = canvas.getBoundingClientRect().width;
      if (used > room + 0.01) faults.push(title + ": canvas " + used + " px in a " + room + " px box");
      const ctx = canvas.getContext("2d");
      for (const x of [0, canvas.width - 1]) {
        const column = ctx.getImageData(x, 0, 1, canvas.height).data;
        let ink = 0;
        for (let i = 3; i < column.length; i += 4) if (column[i] > 0) ink++;
        if (ink > 0) faults.push(title + ": ink in the " + (x === 0 ? "left" : "right") + " edge column (a clipped axis label)");
      }
    }
    return faults;
  })()`);
}

/** The gateway's Connect client for a control service, as a test outside the page would call it. */
export function controlClient<S extends Parameters<typeof createClient>[0]>(service: S, mesh: DashboardMesh) {
  return grpcClient(service, mesh.controlUrl);
}
