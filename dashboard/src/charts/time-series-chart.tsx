import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./time-series-chart.css";
import { alignedData, buildChartOptions, formatValue, latestValues, type ChartSeries } from "./chart-options.ts";

export type { ChartSeries } from "./chart-options.ts";

let drawable: boolean | undefined;
function canDraw(): boolean {
  drawable ??= typeof document !== "undefined" && document.createElement("canvas").getContext("2d") !== null;
  return drawable;
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
    const style = getComputedStyle(el);
    const options = buildChartOptions({
      width: Math.max(el.clientWidth, 200),
      height,
      series,
      textColor: style.color || "#1b1b1f",
      gridColor: style.getPropertyValue("--border").trim() || "#d6d6dc",
    });
    // No 2D canvas (a test DOM): the caption and the table still say everything.
    if (!canDraw()) return;
    const u = new uPlot(options, alignedData(timestampsMs, series), el);
    plot.current = u;
    const onClick = () => {
      const idx = u.cursor.idx;
      if (idx !== null && idx !== undefined) click.current?.(idx);
    };
    u.over.addEventListener("click", onClick);
    const observer = typeof ResizeObserver === "undefined" ? undefined : new ResizeObserver(() => u.setSize({ width: Math.max(el.clientWidth, 200), height }));
    observer?.observe(el);
    return () => {
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
