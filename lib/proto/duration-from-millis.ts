import { create } from "@bufbuild/protobuf";
import { DurationSchema, type Duration } from "@bufbuild/protobuf/wkt";

/**
 * A Duration from a possibly fractional, non-negative number of milliseconds (a measured latency).
 * `durationFromMs` of @bufbuild/protobuf expects whole milliseconds and would produce fractional nanos.
 */
export function durationFromMillis(ms: number): Duration {
  const totalNanos = Math.round(Math.max(0, ms) * 1e6);
  return create(DurationSchema, {
    seconds: BigInt(Math.floor(totalNanos / 1e9)),
    nanos: totalNanos % 1e9,
  });
}
