import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./time-series-chart.css";
import { alignedData, axisFont, buildChartOptions, formatValue, latestValues, type ChartSeries, type MeasureText } from "./chart-options.ts";

export type { ChartSeries } from "./chart-options.ts";

let measuring: CanvasRenderingContext2D | null | undefined;
/** A 2D context to measure axis labels on; null without a canvas (a test DOM), where nothing is drawn. */
function measuringContext(): CanvasRenderingContext2D | null {
  measuring ??= typeof document === "undefined" ? null : document.createElement("canvas").getContext("2d");
  return measuring;
}

/** Label widths in the axes' font as the page has it now (set each time: a web font may load meanwhile). */
const measureText: MeasureText = (text) => {
  const ctx = measuringContext();
  if (!ctx) return 8 * text.length;
  ctx.font = axisFont;
  return ctx.measureText(text).width;
};

/**
 * The width the plot may take: the holder's content box, rounded down. (`clientWidth` rounds to the
 * nearest pixel, so a 336.8 px box gave a 337 px canvas whose last column the holder's overflow clipped.)
 * 0 while the holder is not laid out (hidden).
 */
function plotWidth(el: HTMLElement): number {
  const style = getComputedStyle(el);
  const edges = ["paddingLeft", "paddingRight", "borderLeftWidth", "borderRightWidth"] as const;
  const inner = el.getBoundingClientRect().width - edges.reduce((sum, key) => sum + (Number.parseFloat(style[key]) || 0), 0);
  return Math.max(0, Math.floor(inner));
}

export interface TimeSeriesChartProps {
  /** The chart's caption and accessible name, such as "Request rate per instance". */
  title: string;
  /** The x values: epoch milliseconds, ascending. */
  timestampsMs: readonly number[];
  /** The lines, each with one value per timestamp. */
  series: readonly ChartSeries[];
  /** Height of the plot in CSS pixels. @default 220 */
  height?: number;
  /** Called with the index into `timestampsMs` of the point under the cursor when the plot is clicked. */
  onPointClick?: (index: number) => void;
  /** Shown under the caption: extra controls or links (such as "traces in Jaeger"). */
  children?: ComponentChildren;
}

/**
 * A line chart over time (uPlot on a canvas) that fills its container's width and follows its resizes.
 * For screen readers and keyboards it is a figure named by its caption, with a table of the latest values
 * (behind a disclosure, so sighted users can open it too).
 */
export function TimeSeriesChart(props: TimeSeriesChartProps) {
  const { title, timestampsMs, series, height = 220, onPointClick } = props;
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const click = useRef(onPointClick);
  click.current = onPointClick;
  // A new shape (lines, units, height) needs a new plot; new values only need setData.
  const shape = JSON.stringify([height, series.map((s) => [s.label, s.unit, s.dashed === true])]);

  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    // No 2D canvas (a test DOM): the caption and the table still say everything.
    if (!measuringContext()) return;
    const style = getComputedStyle(el);
    const options = buildChartOptions({
      // Not laid out yet: a placeholder width, corrected by the resize observer's first call.
      width: plotWidth(el) || 300,
      height,
      series,
      textColor: style.color || "#1b1b1f",
      gridColor: style.getPropertyValue("--border").trim() || "#d6d6dc",
      measureText,
    });
    const u = new uPlot(options, alignedData(timestampsMs, series), el);
    plot.current = u;
    const onClick = () => {
      const idx = u.cursor.idx;
      if (idx !== null && idx !== undefined) click.current?.(idx);
    };
    u.over.addEventListener("click", onClick);
    // Follow the holder's width (its first call comes right after layout, so the plot never keeps the width
    // it was created at); the legend changing the height alone needs nothing.
    const observer =
      typeof ResizeObserver === "undefined"
        ? undefined
        : new ResizeObserver(() => {
            const width = plotWidth(el);
            if (width > 0 && width !== u.width) u.setSize({ width, height });
          });
    observer?.observe(el);
    // Labels were measured in whatever font was there; once fonts have loaded, measure the axes again.
    let live = true;
    const remeasure = () => {
      if (live) u.redraw(false, true);
    };
    void document.fonts?.ready.then(remeasure);
    document.fonts?.addEventListener("loadingdone", remeasure);
    return () => {
      live = false;
      document.fonts?.removeEventListener("loadingdone", remeasure);
      observer?.disconnect();
      u.over.removeEventListener("click", onClick);
      u.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape]);

  useEffect(() => {
    plot.current?.setData(alignedData(timestampsMs, series));
  }, [timestampsMs, series]);

  const latest = latestValues(series);
  const latestAt = timestampsMs.at(-1);
  return (
    <figure class="ts-chart">
      <figcaption class="ts-chart-caption">{title}</figcaption>
      {props.children}
      <div
        ref={holder}
        class={`ts-chart-plot${onPointClick ? " ts-chart-clickable" : ""}`}
        role="img"
        aria-label={`${title}: ${latest.map((l) => `${l.label} ${formatValue(l.value, l.unit)}`).join(", ") || "no data yet"}`}
        style={{ minHeight: `${height}px` }}
      />
      <details class="ts-chart-table">
        <summary>Latest values{latestAt === undefined ? "" : ` (${new Date(latestAt).toLocaleTimeString()})`}</summary>
        <table>
          <caption class="visually-hidden">{title}: latest values</caption>
          <thead>
            <tr>
              <th scope="col">Series</th>
              <th scope="col">Latest</th>
            </tr>
          </thead>
          <tbody>
            {latest.map((l) => (
              <tr key={l.label}>
                <th scope="row">{l.label}</th>
                <td class="num">{formatValue(l.value, l.unit)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
