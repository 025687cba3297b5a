// @vitest-environment happy-dom
import { render } from "preact";
import { afterEach, describe, expect, it } from "vitest";
import { TimeSeriesChart } from "./time-series-chart.tsx";

let root: HTMLElement | undefined;
afterEach(() => {
  if (root) render(null, root);
  root?.remove();
});

function mount(node: preact.VNode): HTMLElement {
  root = document.createElement("div");
  document.body.append(root);
  render(node, root);
  return root;
}

describe("TimeSeriesChart", () => {
  it("is a figure named by its caption, whose table gives the latest value of each line", () => {
    const el = mount(
      <TimeSeriesChart
        title="Latency per instance"
        timestampsMs={[1000, 2000, 3000]}
        series={[
          { label: "backend-1 p50", unit: "ms", values: [1, 2, 3.5] },
          { label: "backend-2 p50", unit: "ms", values: [4, null, null] },
        ]}
      />,
    );
    expect(el.querySelector("figcaption")?.textContent).toBe("Latency per instance");
    expect(el.querySelector("[role=img]")?.getAttribute("aria-label")).toBe("Latency per instance: backend-1 p50 3.5 ms, backend-2 p50 4.0 ms");
    const rows = [...el.querySelectorAll("tbody tr")].map((tr) => [...tr.children].map((c) => c.textContent));
    expect(rows).toEqual([
      ["backend-1 p50", "3.5 ms"],
      ["backend-2 p50", "4.0 ms"],
    ]);
  });

  it("says there is no data yet when there are no lines", () => {
    const el = mount(<TimeSeriesChart title="Rate" timestampsMs={[]} series={[]} />);
    expect(el.querySelector("[role=img]")?.getAttribute("aria-label")).toBe("Rate: no data yet");
  });
});
