// The Load tests view in real Chromium against a real mesh: a test started from the page shows its progress
// and then a final percentile table, and its run can be compared with another.
import { describe, expect, it } from "vitest";
import { openDashboard, pageProblems, screenshotAtWidths, useDashboardMesh } from "./dashboard-harness.ts";

const env = useDashboardMesh("dashboard_load_tests");

describe("load tests view", () => {
  it("a test started from the page shows progress, then a final percentile table, and compares with a second run", async () => {
    const page = await openDashboard(env.browser, env.mesh, { role: "admin", route: "load-tests" });
    await page.getByText("No load tests yet").waitFor({ timeout: 15_000 });
    await page.getByLabel("Method", { exact: true }).fill("mesh.data.v1.DataService/ListItems");
    await page.getByLabel("Concurrency").fill("4");
    await page.getByLabel("Rate (req/s)").fill("40");
    // Long enough to be seen running on a busy machine.
    await page.getByLabel("Duration (s)").fill("8");
    await page.getByLabel("Name (optional)").fill("first");
    await page.getByRole("button", { name: "Start load test" }).click();

    // Progress: the run is shown running and its sent count moves above zero while it runs.
    await page.locator('[data-state="running"]').waitFor({ timeout: 15_000 });
    const sent = page.locator('[data-state="running"] [data-figure="sent"]');
    await expect.poll(async () => Number(((await sent.textContent({ timeout: 1000 }).catch(() => "0")) ?? "0").replace(/,/g, "")), { timeout: 15_000, interval: 100 }).toBeGreaterThan(0);
    await screenshotAtWidths(page, "load-test-running");

    const final = page.locator('[data-state="completed"] [data-final-percentiles]');
    await final.waitFor({ timeout: 30_000 });
    const cells = await final.locator("tbody td").allTextContents();
    expect(cells).toHaveLength(6);
    for (const cell of cells.slice(0, 4)) expect(cell).toMatch(/^\d+(\.\d+)? (ms|s)$/);
    expect(Number(((await page.locator('[data-figure="sent"]').textContent()) ?? "0").replace(/,/g, ""))).toBeGreaterThan(0);
    await page.locator("[data-runs] tbody tr").first().waitFor();

    // A second run, then both ticked: the comparison table puts them side by side.
    await page.getByLabel("Duration (s)").fill("3");
    await page.getByLabel("Name (optional)").fill("second");
    await page.getByRole("button", { name: "Start load test" }).click();
    await page.locator('[data-state="completed"]').filter({ hasText: "second" }).locator("[data-final-percentiles]").waitFor({ timeout: 30_000 });
    await page.locator("[data-runs] tbody tr").nth(1).waitFor();
    for (const box of await page.locator("[data-runs] tbody input[type=checkbox]").all()) await box.check();
    const comparison = page.locator("[data-comparison]");
    await comparison.waitFor();
    expect(await comparison.locator("thead th").allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining("first"), expect.stringContaining("second")]));
    expect(await comparison.locator("tbody tr").count()).toBe(5);
    await screenshotAtWidths(page, "load-test-finished");
    expect(pageProblems(page)).toEqual([]);
    await page.close();
  });
});
