// Builds the dashboard (dashboard/dist) with Vite unless the built files are newer than every source.
// Used by `npm start` and the dashboard's browser tests; `npm run build:dashboard` always builds.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");

export const dashboardDist = join(root, "dashboard/dist");

/** What the built page depends on: its sources, its config and the generated clients. */
const sources = ["dashboard/index.html", "dashboard/vite.config.ts", "dashboard/src", "gen", "package-lock.json"];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Whether dashboard/dist is missing or older than a source file. */
export function dashboardIsStale(): boolean {
  const built = join(dashboardDist, "index.html");
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  return sources.some((source) => newestMtime(join(root, source)) > builtAt);
}

/**
 * Builds the dashboard when it is stale and prints one line either way. Rejects with Vite's output when the
 * build fails.
 */
export async function ensureDashboardBuilt(log: (line: string) => void = console.log): Promise<void> {
  if (!dashboardIsStale()) {
    log("dashboard: up to date (dashboard/dist is newer than its sources)");
    return;
  }
  const started = Date.now();
  const vite = join(root, "node_modules/vite/bin/vite.js");
  await new Promise<void>((done, fail) => {
    execFile(process.execPath, [vite, "build", "--config", "dashboard/vite.config.ts", "--logLevel", "warn"], { cwd: root, timeout: 300_000 }, (error, stdout, stderr) => {
      if (error) fail(new Error(`the dashboard build failed (npm run build:dashboard):\n${stdout}${stderr}`));
      else done();
    });
  });
  log(`dashboard: built dashboard/dist in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
