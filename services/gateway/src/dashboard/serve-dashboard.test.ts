import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboardHandler, dashboardContentSecurityPolicy } from "./serve-dashboard.ts";

const root = mkdtempSync(join(tmpdir(), "serve-dashboard-"));
const dist = join(root, "dist");
const servers: http.Server[] = [];

/** A real HTTP server on a loopback port with the handler, falling through to 404 like the RPC router. */
async function serve(dir: string, config = { authRequired: true, jaegerUrl: "http://localhost:16686" }): Promise<string> {
  const handler = createDashboardHandler({ dir, config });
  const server = http.createServer((req, res) => {
    void Promise.resolve(handler(req, res)).then((handled) => {
      if (!handled) res.writeHead(404, { "content-type": "text/plain" }).end("not the dashboard");
    });
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A raw request, so the path reaches the server exactly as written (fetch would normalise `..`). */
function rawGet(base: string, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((done, fail) => {
    const req = http.request(`${base}/`, { method: "GET", path }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk)).on("end", () => done({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", fail).end();
  });
}

let base: string;
beforeAll(async () => {
  mkdirSync(join(dist, "assets"), { recursive: true });
  writeFileSync(join(dist, "index.html"), "<!doctype html><title>dash</title>");
  writeFileSync(join(dist, "assets/index-abc123.js"), "console.log(1)");
  writeFileSync(join(dist, "assets/index-abc123.css"), "body{}");
  writeFileSync(join(root, "secret.txt"), "outside the dashboard");
  base = await serve(dist);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  rmSync(root, { recursive: true, force: true });
});

describe("createDashboardHandler", () => {
  it("redirects /dashboard to /dashboard/, keeping the query", async () => {
    const res = await fetch(`${base}/dashboard?x=1`, { redirect: "manual" });
    expect(res.status).toBe(308);
    expect(res.headers.get("location")).toBe("/dashboard/?x=1");
  });

  it.each(["/dashboard/", "/dashboard/overview", "/dashboard/some/client/route"])("answers %s with index.html, revalidated each time", async (path) => {
    const res = await fetch(`${base}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("content-security-policy")).toBe(dashboardContentSecurityPolicy);
    expect(await res.text()).toContain("<title>dash</title>");
  });

  it.each([
    ["/dashboard/assets/index-abc123.js", "text/javascript; charset=utf-8"],
    ["/dashboard/assets/index-abc123.css", "text/css; charset=utf-8"],
  ])("serves %s with its type, cached for a year", async (path, type) => {
    const res = await fetch(`${base}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(type);
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const again = await fetch(`${base}${path}`, { headers: { "if-none-match": res.headers.get("etag")! } });
    expect(again.status).toBe(304);
  });

  it("answers a missing asset with 404, not the page", async () => {
    const res = await fetch(`${base}/dashboard/assets/index-gone.js`);
    expect(res.status).toBe(404);
  });

  it("answers config.json from the gateway's settings, uncached", async () => {
    const res = await fetch(`${base}/dashboard/config.json`);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ authRequired: true, jaegerUrl: "http://localhost:16686" });
  });

  it("leaves out jaegerUrl when none is configured", async () => {
    const other = await serve(dist, { authRequired: false, jaegerUrl: undefined as unknown as string });
    expect(await (await fetch(`${other}/dashboard/config.json`)).json()).toEqual({ authRequired: false });
  });

  it.each([
    "/dashboard/../secret.txt",
    "/dashboard/assets/../../secret.txt",
    "/dashboard/%2e%2e/secret.txt",
    "/dashboard/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/dashboard/assets/..%5c..%5csecret.txt",
    "/dashboard/assets/%00.js",
    "/dashboard/%E0%A4%A",
  ])("never serves a file outside the build: %s", async (path) => {
    const res = await rawGet(base, path);
    expect(res.body).not.toContain("outside the dashboard");
    expect([200, 404]).toContain(res.status);
  });

  it("refuses other methods with 405 and Allow", async () => {
    const res = await fetch(`${base}/dashboard/`, { method: "POST", body: "x" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });

  it("answers HEAD with headers only", async () => {
    const res = await fetch(`${base}/dashboard/assets/index-abc123.js`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String("console.log(1)".length));
    expect(await res.text()).toBe("");
  });

  it("leaves other paths to the next handler", async () => {
    const res = await fetch(`${base}/dashboards`);
    expect(await res.text()).toBe("not the dashboard");
  });

  it("answers 503 naming the build command when the dashboard is not built", async () => {
    const missing = await serve(join(root, "nothing-here"));
    const res = await fetch(`${missing}/dashboard/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("npm run build:dashboard");
    // config.json needs no build.
    expect((await fetch(`${missing}/dashboard/config.json`)).status).toBe(200);
  });
});
