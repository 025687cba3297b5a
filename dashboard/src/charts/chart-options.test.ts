import { describe, expect, it } from "vitest";
import { alignedData, buildChartOptions, formatValue, latestValues, okabeIto, seriesColor, unitsOf, type ChartSeries } from "./chart-options.ts";

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
  });

  it("keeps at most two unit axes; a third unit draws on the first", () => {
    expect(unitsOf([s("a", "ms", []), s("b", "req/s", []), s("c", "%", [])])).toEqual(["ms", "req/s"]);
    const options = buildChartOptions({ width: 1, height: 1, series: [s("a", "ms", []), s("b", "req/s", []), s("c", "%", [])], textColor: "", gridColor: "" });
    expect(options.series[3]?.scale).toBe("ms");
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
