// @vitest-environment happy-dom
import { createRouterTransport } from "@connectrpc/connect";
import { render } from "preact";
import { afterEach, describe, expect, it } from "vitest";
import { TrafficService } from "../../../gen/mesh/control/v1/traffic_pb.ts";
import { testPoint } from "../traffic/traffic-test-points.ts";
import { TrafficView } from "./traffic-view.tsx";

let root: HTMLElement | undefined;
afterEach(() => {
  if (root) render(null, root);
  root?.remove();
});

function mount(points: ReturnType<typeof testPoint>[], jaegerUrl?: string): HTMLElement {
  const transport = createRouterTransport(({ service }) => {
    service(TrafficService, {
      async *watchTraffic(_req, ctx) {
        yield { points };
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      },
    });
  });
  root = document.createElement("div");
  document.body.append(root);
  render(<TrafficView transport={transport} canAct={false} config={{ authRequired: false, jaegerUrl }} />, root);
  return root;
}

async function until<T>(read: () => T | undefined | null): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = read();
    if (value !== undefined && value !== null) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("timed out");
}

describe("TrafficView", () => {
  const now = Date.UTC(2026, 10, 21, 12, 0, 0);
  const points = [
    testPoint(now - 2000, { instances: { "backend-1": 4, "backend-2": 4 }, routes: { "GET /v1/items/{id}": [8, 2, 9] } }),
    testPoint(now, { instances: { "backend-1": 6, "backend-2": 2 }, routes: { "GET /v1/items/{id}": [8, 3, 12] }, retries: 1, budgetUse: 0.25 }),
  ];

  it("shows the charts, the balancer's split per instance, and the retry figures", async () => {
    const el = mount(points);
    const rows = await until(() => (el.querySelectorAll(".split-table tbody tr").length === 2 ? el.querySelectorAll(".split-table tbody tr") : undefined));
    expect([...rows].map((r) => [r.getAttribute("data-instance-id"), r.querySelector(".split-value")?.textContent])).toEqual([
      ["backend-1", "62.5 %"],
      ["backend-2", "37.5 %"],
    ]);
    expect([...el.querySelectorAll("figcaption")].map((c) => c.textContent)).toEqual([
      "Requests per second by route",
      "Latency by route (p50 solid, p99 dashed)",
      "Attempts per second by instance",
      "Attempt latency by instance (p50 solid, p99 dashed)",
      "Retries and budget use",
    ]);
    expect(el.querySelector("[aria-label='Retries now']")?.textContent).toContain("25.0 %");
    // No Jaeger configured: no trace links, and a hint how to get them.
    expect(el.querySelector("a[href*='/search?']")).toBeNull();
    expect(el.textContent).toContain("JAEGER_UI_URL");
  });

  it("links each chart and instance to Jaeger's search over its window when Jaeger is configured", async () => {
    const el = mount(points, "http://jaeger.example:16686");
    const links = await until(() => {
      const found = [...el.querySelectorAll<HTMLAnchorElement>("a[href*='/search?']")];
      return found.length > 0 ? found : undefined;
    });
    const first = new URL(links[0]!.href);
    expect(first.origin + first.pathname).toBe("http://jaeger.example:16686/search");
    expect(first.searchParams.get("service")).toBe("gateway");
    expect(first.searchParams.get("end")).toBe(String(now * 1000));
    const instanceLink = links.find((a) => a.href.includes("tags="))!;
    expect(JSON.parse(new URL(instanceLink.href).searchParams.get("tags")!)).toEqual({ "mesh.instance.id": "backend-1" });
  });

  it("says what to do while no gateway has reported", async () => {
    const el = mount([]);
    await until(() => el.querySelector(".state-box"));
    expect(el.textContent).toContain("No traffic reported yet");
  });
});
