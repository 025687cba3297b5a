import { describe, expect, it } from "vitest";
import type uPlot from "uplot";
import { alignedData, axisFont, buildChartOptions, formatValue, latestValues, okabeIto, seriesColor, unitsOf, yAxisSize, type ChartSeries } from "./chart-options.ts";

const s = (label: string, unit: string, values: Array<number | null>, dashed = false): ChartSeries => ({ label, unit, values, dashed });

describe("chart options", () => {
  it.each([
    [null, "ms", "–"],
    [0, "req/s", "0 req/s"],
    [0.256, "ms", "0.26 ms"],
    [3.21, "req/s", "3.2 req/s"],
    [1250.4, "req/s", "1,250 req/s"],
    [12, "%", "12 %"],
    [Number.NaN, "ms", "–"],
  ] as const)("formats %s %s as %s", (value, unit, text) => {
    expect(formatValue(value, unit)).toBe(text);
  });

  it("gives each series an Okabe–Ito colour in turn, and dashes the ones asked for", () => {
    const series = [s("a p50", "ms", [1]), s("a p99", "ms", [2], true), s("rate", "req/s", [3])];
    const options = buildChartOptions({ width: 400, height: 200, series, textColor: "#111", gridColor: "#ccc" });
    expect(options.ms).toBe(1);
    expect(options.series.slice(1).map((x) => [x.label, x.stroke, x.scale, x.dash])).toEqual([
      ["a p50", okabeIto[0], "ms", undefined],
      ["a p99", okabeIto[1], "ms", [6, 4]],
      ["rate", okabeIto[2], "req/s", undefined],
    ]);
    // The first unit's axis on the left (side 3), the second on the right (side 1).
    expect(options.axes?.slice(1).map((a) => [a.scale, a.side])).toEqual([["ms", 3], ["req/s", 1]]);
    expect(seriesColor(okabeIto.length)).toBe(okabeIto[0]);
    // Time ticks step by whole seconds at least, never ":50.999".
    const incrs = options.axes?.[0]?.incrs;
    expect(Array.isArray(incrs) && incrs.length > 0 && incrs.every((ms) => ms >= 1000 && ms % 1000 === 0)).toBe(true);
  });

  it("keeps at most two unit axes; a third unit draws on the first", () => {
    expect(unitsOf([s("a", "ms", []), s("b", "req/s", []), s("c", "%", [])])).toEqual(["ms", "req/s"]);
    const options = buildChartOptions({ width: 1, height: 1, series: [s("a", "ms", []), s("b", "req/s", []), s("c", "%", [])], textColor: "", gridColor: "" });
    expect(options.series[3]?.scale).toBe("ms");
  });

  it("sizes each y axis for its widest label as measured, with room for the tick", () => {
    // 10 px a character: "200 ms" is 60 px, "1,250 req/s" 110 px.
    const measure = (text: string) => 10 * text.length;
    expect(yAxisSize(["0 ms", "100 ms", "200 ms"], measure)).toBe(10 + 5 + 60 + 6);
    expect(yAxisSize(["0 req/s", "1,250 req/s"], measure)).toBe(10 + 5 + 110 + 6);
    // Short labels keep a 4-character minimum, so the plot does not jump as values grow from 0 to 40.
    expect(yAxisSize(["0", "5"], measure)).toBe(yAxisSize(["1000"], measure));
    expect(yAxisSize([], measure)).toBe(10 + 5 + 40 + 6);

    const measured: string[] = [];
    const options = buildChartOptions({
      width: 400,
      height: 200,
      series: [s("p99", "ms", [200]), s("rate", "%", [1])],
      textColor: "#111",
      gridColor: "#ccc",
      measureText: (text) => (measured.push(text), 10 * text.length),
    });
    const [, left, right] = options.axes ?? [];
    const size = (axis: uPlot.Axis | undefined, labels: string[]) => (typeof axis?.size === "function" ? axis.size({} as uPlot, labels, 1, 1) : undefined);
    expect(size(left, ["0 ms", "200 ms"])).toBe(10 + 5 + 60 + 6);
    expect(size(right, ["0 %", "1.0 %"])).toBe(10 + 5 + 50 + 6);
    expect(measured).toContain("200 ms");
    // Labels are measured in the font they are drawn in.
    expect([left?.font, right?.font]).toEqual([axisFont, axisFont]);
  });

  it("aligns data as x then one array per series, and reads the latest non-null value of each", () => {
    const series = [s("a", "ms", [1, 2, null]), s("b", "ms", [null, null, null])];
    expect(alignedData([10, 20, 30], series)).toEqual([[10, 20, 30], [1, 2, null], [null, null, null]]);
    expect(latestValues(series)).toEqual([
      { label: "a", unit: "ms", value: 2 },
      { label: "b", unit: "ms", value: null },
    ]);
  });
});
