// The Traffic view in real Chromium against a real mesh: read traffic driven through the gateway shows on
// the page as non-zero rates for both backends, in the balancer's split and the charts.
import { describe, expect, it } from "vitest";
import { driveReadTraffic, goToView, openDashboard, pageProblems, screenshotAtWidths, useDashboardMesh } from "./dashboard-harness.ts";

const env = useDashboardMesh("dashboard_traffic");

describe("traffic view", () => {
  it("shows non-zero rates for both backends under read traffic, for a user", async () => {
    const traffic = new AbortController();
    const driving = driveReadTraffic(env.mesh, traffic.signal, 10);
    try {
      const page = await openDashboard(env.browser, env.mesh, { role: "user" });
      await goToView(page, "Traffic");
      const rate = (id: string) => page.locator(`.split-table tr[data-instance-id="${id}"] td[data-rps]`);
      for (const id of ["backend-1", "backend-2"]) {
        await rate(id).waitFor({ timeout: 30_000 });
      }
      // Wait until both rates are above zero (the split averages the last 30 s).
      const rates = async () => Promise.all(["backend-1", "backend-2"].map(async (id) => Number(await rate(id).getAttribute("data-rps"))));
      for (let i = 0; i < 60 && !(await rates()).every((r) => r > 0); i++) await page.waitForTimeout(500);
      for (const id of ["backend-1", "backend-2"]) expect(Number(await rate(id).getAttribute("data-rps"))).toBeGreaterThan(0);
      // A few more points, so the lines have some length in the screenshots.
      await page.waitForTimeout(4000);
      const captions = await page.locator("figure.ts-chart figcaption").allTextContents();
      expect(captions).toEqual(expect.arrayContaining(["Requests per second by route", "Attempts per second by instance"]));
      // The per-instance chart's accessible name carries both backends' latest rates.
      const label = (await page.locator("figure.ts-chart", { hasText: "Attempts per second by instance" }).locator("[role=img]").getAttribute("aria-label")) ?? "";
      expect(label).toMatch(/backend-1 [1-9][\d.,]* req\/s/);
      expect(label).toMatch(/backend-2 [1-9][\d.,]* req\/s/);
      // The gateway has a Jaeger URL: charts link to its search.
      expect(await page.locator('a[href^="http://127.0.0.1:16686/search?service=gateway"]').count()).toBeGreaterThan(0);
      await screenshotAtWidths(page, "traffic");
      expect(pageProblems(page)).toEqual([]);
      await page.close();
    } finally {
      traffic.abort();
      await driving;
    }
  });
});
