// The dashboard's shell in real Chromium against a real mesh: served by the gateway, sign-in, roles.
import { describe, expect, it } from "vitest";
import { launchBrowser, openDashboard, pageProblems, signIn, useDashboardMesh } from "./dashboard-harness.ts";

const env = useDashboardMesh("dashboard_shell");

describe("dashboard shell", () => {
  it("without Chromium, the harness says in one line what is missing and how to install it", async () => {
    const failure = await launchBrowser("/nonexistent/chromium").then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failure?.message).toBe(
      "/nonexistent/chromium is missing: the dashboard's browser tests drive Debian's Chromium through playwright-core; install it with `apt-get install -y chromium`",
    );
    expect(failure?.stack?.split("\n")).toHaveLength(1);
  });

  it("the page, its assets and config.json are public while RPCs keep requiring a token", async () => {
    const page = await fetch(`${env.mesh.gatewayUrl}/dashboard/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const asset = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1];
    expect(asset).toBeDefined();
    const script = await fetch(`${env.mesh.gatewayUrl}${asset}`);
    expect(script.status).toBe(200);
    expect(script.headers.get("cache-control")).toContain("immutable");
    expect(await (await fetch(`${env.mesh.gatewayUrl}/dashboard/config.json`)).json()).toEqual({ authRequired: true, jaegerUrl: "http://127.0.0.1:16686" });
    const rpc = await fetch(`${env.mesh.gatewayUrl}/mesh.control.v1.OverviewService/GetOverview`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(rpc.status).toBe(401);
    const allowed = await fetch(`${env.mesh.gatewayUrl}/mesh.control.v1.OverviewService/GetOverview`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${env.mesh.tokens.user}` },
      body: "{}",
    });
    expect(allowed.status).toBe(200);
  });

  it("asks for a token, refuses text that is not a JWT, and signs in with a valid one", async () => {
    const page = await openDashboard(env.browser, env.mesh);
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeTruthy();
    await page.getByLabel("Bearer token (JWT)").fill("not a token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("this is not a JWT").waitFor();
    await signIn(page, env.mesh.tokens.user);
    expect(await page.getByTestId("signed-in-as").textContent()).toContain("e2e-user (read-only)");
    expect(pageProblems(page)).toEqual([]);
    await page.close();
  });

  it("a token the gateway refuses brings the sign-in form back", async () => {
    const page = await openDashboard(env.browser, env.mesh);
    // Well-formed, but signed with another secret.
    const forged = env.mesh.tokens.admin.replace(/\.[^.]+$/, ".c2lnbmF0dXJlLW9mLWFub3RoZXIta2V5");
    await page.getByLabel("Bearer token (JWT)").fill(forged);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("The gateway refused the token").waitFor({ timeout: 15_000 });
    await page.close();
  });
});
