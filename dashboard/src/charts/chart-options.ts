import type uPlot from "uplot";

/** One line of a time-series chart. */
export interface ChartSeries {
  /** Shown in the legend and the table, such as "backend-1 p99". */
  label: string;
  /** The value's unit, such as "req/s" or "ms". Series with the same unit share a y axis (two units at most). */
  unit: string;
  /** One value per timestamp; null where there is no point (a gap in the line). */
  values: ReadonlyArray<number | null>;
  /** Drawn dashed, to tell lines apart without colour (such as p99 beside p50). */
  dashed?: boolean;
}

/**
 * The Okabe–Ito palette in an order that keeps neighbours distinct for the common colour-vision deficiencies
 * (yellow left out: too light on white).
 */
export const okabeIto = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000"] as const;

/** The colour of the `index`-th series. */
export function seriesColor(index: number): string {
  return okabeIto[index % okabeIto.length] ?? "#0072B2";
}

/** The units of `series` in first-seen order: the first is the left axis, the second the right. */
export function unitsOf(series: readonly ChartSeries[]): string[] {
  return [...new Set(series.map((s) => s.unit))].slice(0, 2);
}

/** A value with its unit for axes and tables: "12.3 ms", "1,250 req/s". */
export function formatValue(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const abs = Math.abs(value);
  const text = abs === 0 ? "0" : abs < 10 ? value.toFixed(abs < 1 ? 2 : 1) : Math.round(value).toLocaleString("en-US");
  return unit === "" ? text : unit === "%" ? `${text} %` : `${text} ${unit}`;
}

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;
/** The x axis's tick steps: whole seconds, minutes, hours and days (never a fraction of a second). */
export const timeIncrsMs = [second, 2 * second, 5 * second, 10 * second, 15 * second, 30 * second, minute, 2 * minute, 5 * minute, 10 * minute, 15 * minute, 30 * minute, hour, 2 * hour, 3 * hour, 6 * hour, 12 * hour, 24 * hour];

/** uPlot's aligned data: x (ms) then one array per series. */
export function alignedData(timestampsMs: readonly number[], series: readonly ChartSeries[]): uPlot.AlignedData {
  return [Array.from(timestampsMs), ...series.map((s) => Array.from(s.values))] as uPlot.AlignedData;
}

/** The font of the axes' tick labels (uPlot's default, named so that labels are measured in the font drawn). */
export const axisFont = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif';

/** Width in CSS pixels of `text` drawn in `axisFont`. */
export type MeasureText = (text: string) => number;

/** Without a canvas to measure on: a generous 8 px a character (digits are about 7 px at 12 px). */
const estimateText: MeasureText = (text) => 8 * text.length;

/** A y axis's tick length and the gap between tick and label, as uPlot draws them. */
const tickSize = 10;
const tickGap = 5;

/**
 * The width of a y axis that shows `labels` whole: tick, gap, the widest label and a few pixels of margin
 * at the chart's edge. At least a 4-digit label's width, so the axis does not jitter between "0" and "40".
 */
export function yAxisSize(labels: readonly string[], measure: MeasureText = estimateText): number {
  const widest = Math.max(measure("0000"), ...labels.map((l) => measure(l)));
  return Math.ceil(tickSize + tickGap + widest + 6);
}

/**
 * uPlot options for a time chart in ms with up to two unit axes; `textColor` is the page's text colour.
 * `measureText` measures tick labels in `axisFont` (a canvas's measureText), so each y axis is as wide as
 * its longest label in the font actually drawn.
 */
export function buildChartOptions(input: {
  width: number;
  height: number;
  series: readonly ChartSeries[];
  textColor: string;
  gridColor: string;
  measureText?: MeasureText;
}): uPlot.Options {
  const units = unitsOf(input.series);
  const measure = input.measureText ?? estimateText;
  const axis = (unit: string, side: 1 | 3): uPlot.Axis => ({
    scale: unit,
    side,
    font: axisFont,
    stroke: input.textColor,
    grid: { show: side === 3, stroke: input.gridColor, width: 1 },
    ticks: { stroke: input.gridColor, width: 1, size: tickSize },
    gap: tickGap,
    // uPlot asks again whenever the scale (and so the labels) changes.
    size: (_u, values) => yAxisSize(values ?? [], measure),
    values: (_u, splits) => splits.map((v) => formatValue(v, unit)),
  });
  return {
    width: input.width,
    height: input.height,
    ms: 1,
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    // Rates and latencies start at zero, so a flat line does not look like a swing.
    scales: { x: { time: true }, ...Object.fromEntries(units.map((u) => [u, { auto: true, range: (_u: uPlot, min: number | null, max: number | null) => [Math.min(0, min ?? 0), (max ?? 0) > 0 ? (max ?? 0) * 1.1 : 1] as uPlot.Range.MinMax }])) },
    axes: [
      // Ticks at least 70 px apart, at whole seconds or more: a 3 s run on a wide chart showed ":50.999".
      { font: axisFont, stroke: input.textColor, space: 70, incrs: timeIncrsMs, grid: { stroke: input.gridColor, width: 1 }, ticks: { stroke: input.gridColor, width: 1 } },
      ...units.map((unit, i) => axis(unit, i === 0 ? 3 : 1)),
    ],
    series: [
      {},
      ...input.series.map((s, i) => ({
        label: s.label,
        scale: units.includes(s.unit) ? s.unit : units[0],
        stroke: seriesColor(i),
        width: 2,
        ...(s.dashed ? { dash: [6, 4] } : {}),
        spanGaps: false,
        value: (_u: uPlot, v: number | null) => formatValue(v, s.unit),
      })),
    ],
  };
}

/** The last non-null value of each series, for the accessible table. */
export function latestValues(series: readonly ChartSeries[]): Array<{ label: string; unit: string; value: number | null }> {
  return series.map((s) => {
    for (let i = s.values.length - 1; i >= 0; i--) {
      const v = s.values[i];
      if (v !== null && v !== undefined) return { label: s.label, unit: s.unit, value: v };
    }
    return { label: s.label, unit: s.unit, value: null };
  });
}
