import { Counter, type Metric } from "prom-client";

/** One label set of a counter. */
export interface CounterSeries {
  inc(): void;
}

/** One label set of a histogram. */
export interface HistogramSeries {
  observe(value: number): void;
}

/**
 * Metrics recorded through a handle per label set, for the gateway's per-request figures. prom-client's
 * `inc(labels)` and `observe(labels, value)` validate the label names, build a key string from the labels
 * and, for a histogram, turn the bucket bound into a property name, on every call: several times the cost of
 * the gateway's own bookkeeping of a request. A handle is looked up once per label set (the caller keeps it)
 * and records with an addition or two.
 */
export interface SeriesMetric<S> {
  /** The metric to register on a prom-client Registry. */
  readonly metric: Metric;
  /** A new handle for `labels`: call once per label set, and keep it. */
  series(labels: Readonly<Record<string, string>>): S;
}

/**
 * A prom-client Counter whose handles count locally; the counts reach the counter whenever it is read (a
 * scrape), through its `collect` hook, so its exposition is prom-client's own.
 */
export function createSeriesCounter(config: { name: string; help: string; labelNames: readonly string[] }): SeriesMetric<CounterSeries> {
  const all: Array<{ labels: Readonly<Record<string, string>>; pending: number }> = [];
  const counter: Counter<string> = new Counter({
    name: config.name,
    help: config.help,
    labelNames: config.labelNames,
    registers: [],
    collect() {
      for (const series of all) {
        if (series.pending === 0) continue;
        counter.inc(series.labels, series.pending);
        series.pending = 0;
      }
    },
  });
  // A reset drops what the handles counted since the last read too, as prom-client's own reset would.
  const reset = counter.reset.bind(counter);
  counter.reset = () => {
    for (const series of all) series.pending = 0;
    reset();
  };
  return {
    metric: counter as Metric,
    series(labels) {
      const series = { labels, pending: 0 };
      all.push(series);
      return {
        inc() {
          series.pending++;
        },
      };
    },
  };
}

interface HistogramFigures {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket (not cumulative); those above the last bound are only in `count`. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram for a prom-client Registry with the exposition of prom-client's Histogram (`_bucket` per bound
 * and `+Inf`, `_sum`, `_count`, in the same order and with the same labels), recorded through handles.
 * Values that are not finite numbers are dropped (prom-client throws). `reset()` zeroes every label set in
 * place, so that handles stay valid.
 */
export function createSeriesHistogram(config: {
  name: string;
  help: string;
  labelNames: readonly string[];
  buckets: readonly number[];
}): SeriesMetric<HistogramSeries> {
  const bounds = [...config.buckets].sort((a, b) => a - b);
  const all: HistogramFigures[] = [];
  const bucketName = `${config.name}_bucket`;

  /** prom-client's shape: the series' labels as shared labels, `le` on its own (see Registry.getMetricsAsString). */
  function values() {
    const out: Array<Record<string, unknown>> = [];
    for (const figures of all) {
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += figures.buckets[i]!;
        out.push({ labels: { le: bounds[i] }, sharedLabels: figures.labels, value: cumulative, metricName: bucketName, exemplar: null });
      }
      out.push({ labels: { le: "+Inf" }, sharedLabels: figures.labels, value: figures.count, metricName: bucketName, exemplar: null });
      out.push({ labels: {}, sharedLabels: figures.labels, value: figures.sum, metricName: `${config.name}_sum`, exemplar: undefined });
      out.push({ labels: {}, sharedLabels: figures.labels, value: figures.count, metricName: `${config.name}_count`, exemplar: undefined });
    }
    return out;
  }

  const metric = {
    name: config.name,
    help: config.help,
    type: "histogram",
    aggregator: "sum",
    labelNames: config.labelNames,
    async getForPromString() {
      return { name: config.name, help: config.help, type: "histogram", values: values(), aggregator: "sum" };
    },
    async get() {
      const splayed = values().map(({ labels, sharedLabels, ...rest }) => ({
        ...rest,
        labels: { ...(labels as object), ...(sharedLabels as object) },
      }));
      return { name: config.name, help: config.help, type: "histogram", values: splayed, aggregator: "sum" };
    },
    reset() {
      for (const figures of all) {
        figures.buckets.fill(0);
        figures.sum = 0;
        figures.count = 0;
      }
    },
  };

  return {
    metric: metric as unknown as Metric,
    series(labels) {
      const figures: HistogramFigures = { labels, buckets: new Float64Array(bounds.length), sum: 0, count: 0 };
      all.push(figures);
      return {
        observe(value) {
          if (!Number.isFinite(value)) return;
          figures.sum += value;
          figures.count++;
          for (let i = 0; i < bounds.length; i++) {
            if (value <= bounds[i]!) {
              figures.buckets[i]!++;
              return;
            }
          }
        },
      };
    },
  };
}
