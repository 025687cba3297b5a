import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { HttpRequest, HttpResponse } from "../../../../lib/server/http-exchange.ts";

/** Where `npm run build:dashboard` writes the dashboard. */
export const defaultDashboardDir = fileURLToPath(new URL("../../../../dashboard/dist", import.meta.url));

/** What the page reads at `/dashboard/config.json` (dashboard/src/view-props.ts: DashboardConfig). */
export interface DashboardPageConfig {
  authRequired: boolean;
  jaegerUrl?: string | undefined;
}

export interface DashboardHandlerOptions {
  /** The built dashboard (index.html and assets/). @default defaultDashboardDir */
  dir?: string;
  config: DashboardPageConfig;
}

const prefix = "/dashboard";

const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * The page's policy: its own scripts and styles only, calls to this origin only (the API is same-origin), no
 * framing. Replaces the edge's API policy (`default-src 'none'`) on the dashboard's responses.
 */
export const dashboardContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const immutable = "public, max-age=31536000, immutable";

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dashboard not built</title></head>
<body><h1>The dashboard is not built</h1>
<p>Run <code>npm run build:dashboard</code> (or <code>npm start</code>, which builds it), then reload this page.</p>
</body></html>
`;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

function text(status: number, message: string, headers: Record<string, string> = {}): Answer {
  return { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers }, body: `${message}\n` };
}

/** The file `relative` names inside `dir`, or undefined when it escapes `dir` or is not a regular file. */
async function fileIn(dir: string, relative: string): Promise<{ path: string; mtimeMs: number; size: number } | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relative);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return undefined;
  const path = resolve(dir, `.${"/"}${decoded}`);
  if (!path.startsWith(dir + sep)) return undefined;
  try {
    const info = await stat(path);
    return info.isFile() ? { path, mtimeMs: info.mtimeMs, size: info.size } : undefined;
  } catch {
    return undefined;
  }
}

async function fileAnswer(req: HttpRequest, file: { path: string; mtimeMs: number; size: number }, cacheControl: string): Promise<Answer> {
  const etag = `"${createHash("sha1").update(`${file.path}:${file.mtimeMs}:${file.size}`).digest("base64url").slice(0, 16)}"`;
  const headers = {
    "content-type": contentTypes[extname(file.path).toLowerCase()] ?? "application/octet-stream",
    "cache-control": cacheControl,
    etag,
  };
  if (req.headers["if-none-match"] === etag) return { status: 304, headers, body: "" };
  return { status: 200, headers, body: await readFile(file.path) };
}

/**
 * Serves the built dashboard at /dashboard/: `/dashboard` redirects to `/dashboard/`; hashed files under
 * assets/ are cached for a year; any other path that names no file is a client route and gets index.html,
 * revalidated on every load; `/dashboard/config.json` tells the page whether to ask for a token. Every file
 * is public: the page holds no data, and its calls go through the edge's per-method authorization. An
 * `httpHandlers` entry: returns false for paths outside /dashboard, at once rather than as a promise, since
 * it sees every request the gateway serves.
 */
export function createDashboardHandler(options: DashboardHandlerOptions): (req: HttpRequest, res: HttpResponse) => boolean | Promise<boolean> {
  const dir = resolve(options.dir ?? defaultDashboardDir);
  const configBody = JSON.stringify({
    authRequired: options.config.authRequired,
    ...(options.config.jaegerUrl ? { jaegerUrl: options.config.jaegerUrl } : {}),
  });

  async function answer(req: HttpRequest, path: string, query: string): Promise<Answer> {
    if (req.method !== "GET" && req.method !== "HEAD") return text(405, "method not allowed: the dashboard answers GET and HEAD", { allow: "GET, HEAD" });
    if (path === prefix) return { status: 308, headers: { location: `${prefix}/${query}`, "cache-control": "no-store" }, body: "" };
    const relative = path.slice(prefix.length + 1);
    if (relative === "config.json") {
      return { status: 200, headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" }, body: configBody };
    }
    const index = await fileIn(dir, "index.html");
    if (!index) return { status: 503, headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "retry-after": "10" }, body: notBuiltPage };
    if (relative.startsWith("assets/")) {
      const asset = await fileIn(dir, relative);
      return asset ? fileAnswer(req, asset, immutable) : text(404, "no such dashboard asset: reload the page to get the current build");
    }
    const file = relative === "" ? undefined : await fileIn(dir, relative);
    return fileAnswer(req, file ?? index, "no-cache");
  }

  return function serveDashboard(req, res) {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    if (path !== prefix && !path.startsWith(`${prefix}/`)) return false;
    return send(req, res, path, q < 0 ? undefined : url.slice(q + 1));
  };

  async function send(req: HttpRequest, res: HttpResponse, path: string, rawQuery: string | undefined): Promise<boolean> {
    const result = await answer(req, path, rawQuery === undefined ? "" : `?${rawQuery}`);
    const body = typeof result.body === "string" ? Buffer.from(result.body) : result.body;
    const headers: Record<string, string | number> = { ...result.headers, "content-security-policy": dashboardContentSecurityPolicy };
    if (result.status !== 304) headers["content-length"] = body.length;
    res.writeHead(result.status, headers);
    if (req.method === "HEAD" || result.status === 304) res.end();
    else res.end(body);
    return true;
  }
}
