import { durationMs, timestampDate, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";

/** Short, stable renderings of protobuf values for tables. */
export const fmt = {
  ms: (d: Duration | undefined) => (d === undefined ? "-" : `${durationMs(d).toFixed(1)} ms`),
  percent: (ratio: number) => `${(ratio * 100).toFixed(1)} %`,
  rate: (perMinute: number) => perMinute.toFixed(0),
  time: (t: Timestamp | undefined) => (t === undefined ? "-" : timestampDate(t).toISOString().replace("T", " ").slice(0, 19)),
  /** ENUM_PREFIX_VALUE → value, lower-case with dashes. */
  enumName: (name: string | undefined, prefix: string) => (name ?? "unknown").replace(new RegExp(`^${prefix}_`), "").toLowerCase().replaceAll("_", "-"),
};
