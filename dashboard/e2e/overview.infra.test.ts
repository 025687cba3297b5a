// The overview and roles in real Chromium against a real mesh: both backends appear, a killed backend shows
// unhealthy, and admin actions follow the token's role.
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { eventually } from "../../services/gateway/src/test-support/mesh-fixture.ts";
import { goToView, openDashboard, pageProblems, readThroughGateway, screenshotAtWidths, useDashboardMesh } from "./dashboard-harness.ts";

const env = useDashboardMesh("dashboard_overview");

const instance = (page: Page, id: string) => page.locator(`li.instance[data-instance-id="${id}"]`);

/**
 * Every serving state the page has shown for an instance since the first call ("gone" when its card left),
 * recorded in the page by a MutationObserver so that a short-lived state is not missed between polls.
 */
async function servingHistory(page: Page, id: string): Promise<string[]> {
  // A string, not a function: the test's tsconfig has no DOM types. Runtime evaluation is not subject to the CSP.
  return page.evaluate(`(() => {
    const key = "__serving_${id}";
    if (!window[key]) {
      const seen = (window[key] = []);
      const record = () => {
        const card = document.querySelector('li.instance[data-instance-id="${id}"]');
        const state = card ? card.getAttribute("data-serving") : "gone";
        if (seen[seen.length - 1] !== state) seen.push(state);
      };
      record();
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true });
    }
    return window[key];
  })()`);
}

/** Some calls through the gateway, so golden metrics have something to show. */
async function traffic(calls: number): Promise<void> {
  for (let i = 0; i < calls; i++) await readThroughGateway(env.mesh);
}

describe("overview", () => {
  it("shows the figures and both backends serving, with breakers and golden metrics", async () => {
    await traffic(20);
    const page = await openDashboard(env.browser, env.mesh, { role: "user" });
    await instance(page, "backend-1").and(page.locator('[data-serving="serving"]')).waitFor({ timeout: 20_000 });
    await instance(page, "backend-2").and(page.locator('[data-serving="serving"]')).waitFor({ timeout: 20_000 });
    await page.getByRole("definition").filter({ hasText: /^\d+$/ }).first().waitFor();
    expect(await page.getByLabel("Mesh figures").textContent()).toMatch(/Active services\s*1/);
    // The gateway reports its breakers every 500 ms: both closed once it has.
    await instance(page, "backend-1").and(page.locator('[data-breaker="breaker closed"]')).waitFor({ timeout: 20_000 });
    await instance(page, "backend-2").and(page.locator('[data-breaker="breaker closed"]')).waitFor({ timeout: 20_000 });
    await page.getByLabel("Golden metrics of backend-1").waitFor();
    await screenshotAtWidths(page, "overview");
    expect(pageProblems(page)).toEqual([]);
    await page.close();
  });

  it("a killed backend shows unhealthy until its supervisor has it serving again", async () => {
    const page = await openDashboard(env.browser, env.mesh, { role: "user" });
    await instance(page, "backend-2").and(page.locator('[data-serving="serving"]')).waitFor({ timeout: 20_000 });
    await servingHistory(page, "backend-2");
    const pid = await env.mesh.backendPid("backend-2");
    process.kill(pid, "SIGKILL");
    // Control's health checks take it out while the supervisor restarts it: the page shows it not serving.
    const seen = await eventually(() => servingHistory(page, "backend-2"), (states) => states.includes("not serving"), 30_000);
    expect(seen).toContain("not serving");
    await screenshotAtWidths(page, "overview-backend-killed", [1280]);
    await env.mesh.untilBackendsServing();
    await instance(page, "backend-2").and(page.locator('[data-serving="serving"]')).waitFor({ timeout: 30_000 });

    // The events view has the story: the restart, from the history and the live stream.
    await goToView(page, "Events");
    await page.locator("li.event", { hasText: "backend-2" }).first().waitFor({ timeout: 20_000 });
    await page.getByLabel("Instance").selectOption("backend-2");
    const listed = await page.locator("li.event").allTextContents();
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((text) => text.includes("backend-2"))).toBe(true);
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await screenshotAtWidths(page, "events");
    expect(pageProblems(page)).toEqual([]);
    await page.close();
  });
});

describe("every view", () => {
  it("renders at laptop and phone widths without errors (screenshots in .tmp/screenshots)", async () => {
    const page = await openDashboard(env.browser, env.mesh, { role: "admin" });
    for (const [label, name] of [["Traffic", "traffic"], ["Chaos", "chaos"], ["Load tests", "load-tests"], ["Events", "events-view"], ["Overview", "overview-view"]] as const) {
      await goToView(page, label);
      await page.locator("main .panel, main .state-box").first().waitFor();
      if (label === "Overview") await page.locator('li.instance[data-breaker="breaker closed"]').first().waitFor({ timeout: 20_000 });
      await screenshotAtWidths(page, `view-${name}`);
    }
    expect(pageProblems(page)).toEqual([]);
    await page.close();
  });
});

describe("roles", () => {
  it("a user token disables the admin actions; an admin token enables them", async () => {
    const user = await openDashboard(env.browser, env.mesh, { role: "user", route: "chaos" });
    await user.getByRole("button", { name: "Inject fault" }).waitFor();
    expect(await user.getByRole("button", { name: "Inject fault" }).isDisabled()).toBe(true);
    expect(await user.getByTestId("signed-in-as").textContent()).toContain("read-only");
    await goToView(user, "Load tests");
    expect(await user.getByRole("button", { name: "Start load test" }).isDisabled()).toBe(true);
    await user.close();

    const admin = await openDashboard(env.browser, env.mesh, { role: "admin", route: "chaos" });
    await admin.getByRole("button", { name: "Inject fault" }).waitFor();
    expect(await admin.getByRole("button", { name: "Inject fault" }).isEnabled()).toBe(true);
    expect(await admin.getByTestId("signed-in-as").textContent()).toContain("e2e-admin (admin)");
    await goToView(admin, "Load tests");
    expect(await admin.getByRole("button", { name: "Start load test" }).isEnabled()).toBe(true);
    await admin.close();
  });
});
