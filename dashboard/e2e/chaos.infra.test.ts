// The Chaos view in real Chromium against a real mesh: a 100 % error fault injected from the page opens
// backend-1's breaker on the page, and clearing it lets the breaker close again.
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { driveReadTraffic, openDashboard, pageProblems, screenshotAtWidths, useDashboardMesh } from "./dashboard-harness.ts";

const env = useDashboardMesh("dashboard_chaos");

const breakerOf = (page: Page, id: string) => page.locator(`tr[data-instance="${id}"] [data-breaker]`);

describe("chaos view", () => {
  it("a 100 % error fault on backend-1 opens its breaker on the page, and clearing it lets it close", async () => {
    const page = await openDashboard(env.browser, env.mesh, { role: "admin", route: "chaos" });
    // By text: an option whose value equals its text carries no value attribute (Preact leaves it implied).
    await page.locator("#fault-target option", { hasText: /^backend-1$/ }).waitFor({ state: "attached", timeout: 20_000 });
    await page.getByLabel("Instance", { exact: true }).selectOption("backend-1");
    await page.getByLabel("Fault", { exact: true }).selectOption("errorRate");
    await page.getByLabel("Calls failing (%)").fill("100");
    await page.getByLabel("Status code").selectOption("UNAVAILABLE");
    await page.getByLabel("Duration (s)", { exact: true }).fill("300");
    await page.getByRole("button", { name: "Inject fault" }).click();
    const row = page.locator("tr[data-fault-id]").filter({ hasText: "instance backend-1" });
    await row.waitFor({ timeout: 15_000 });
    expect(await row.textContent()).toContain("Error rate 100 % UNAVAILABLE");
    expect(await row.getByRole("timer").textContent()).toMatch(/^\dm \d\ds$/);

    const traffic = new AbortController();
    const driving = driveReadTraffic(env.mesh, traffic.signal);
    try {
      await breakerOf(page, "backend-1").and(page.locator('[data-breaker="breaker open"]')).waitFor({ timeout: 30_000 });
      expect(await breakerOf(page, "backend-2").getAttribute("data-breaker")).not.toBe("breaker open");
      await screenshotAtWidths(page, "chaos-fault-active");

      await row.getByRole("button", { name: /^Clear / }).click();
      await page.getByText("No active faults").waitFor({ timeout: 15_000 });
      // Half-open probes now succeed: the breaker closes once the gateway has tried backend-1 again.
      await breakerOf(page, "backend-1").and(page.locator('[data-breaker="breaker closed"]')).waitFor({ timeout: 60_000 });
    } finally {
      traffic.abort();
      await driving;
    }
    await screenshotAtWidths(page, "chaos-cleared");
    expect(pageProblems(page)).toEqual([]);
    await page.close();
  });

  it("refuses a bad form on the page and shows why, and is read-only for a user", async () => {
    const admin = await openDashboard(env.browser, env.mesh, { role: "admin", route: "chaos" });
    await admin.getByLabel("Duration (s)", { exact: true }).fill("0");
    await admin.getByRole("button", { name: "Inject fault" }).click();
    await admin.getByText("Choose an instance").waitFor();
    await admin.getByText("Duration must be between 1 and 86,400 s").waitFor();
    await admin.close();

    const user = await openDashboard(env.browser, env.mesh, { role: "user", route: "chaos" });
    await user.getByText("needs the admin role").waitFor();
    expect(await user.getByRole("button", { name: "Inject fault" }).isDisabled()).toBe(true);
    await user.getByText("No active faults").waitFor({ timeout: 15_000 });
    await screenshotAtWidths(user, "chaos-read-only");
    expect(pageProblems(user)).toEqual([]);
    await user.close();
  });
});
