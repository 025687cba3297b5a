import { durationMs } from "@bufbuild/protobuf/wkt";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { Code as RpcCode } from "../../gen/google/rpc/code_pb.ts";
import type { Fault } from "../../gen/mesh/chaos/v1/fault_pb.ts";
import { invalidArguments } from "../errors/connect-errors.ts";
import { isEnumValue } from "../errors/enum-value.ts";

type Violation = { field: string; reason: string };

const methodPattern = /^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+(\/[A-Za-z_]\w*)?$/;

function checkDuration(
  out: Violation[],
  field: string,
  value: Duration | undefined,
  minMs: number,
  maxMs: number,
  required: boolean,
): void {
  if (value === undefined) {
    if (required) out.push({ field, reason: "is required" });
    return;
  }
  const ms = durationMs(value);
  if (!Number.isFinite(ms) || ms < minMs || ms > maxMs || value.nanos < 0 || value.seconds < 0n) {
    out.push({ field, reason: `must be between ${minMs / 1000}s and ${maxMs / 1000}s` });
  }
}

function checkRate(out: Violation[], field: string, rate: number, allowZero: boolean): void {
  const ok = Number.isFinite(rate) && rate <= 1 && (allowZero ? rate >= 0 : rate > 0);
  if (!ok) out.push({ field, reason: allowZero ? "must be between 0 and 1" : "must be greater than 0 and at most 1" });
}

/** Throws InvalidArgument naming every field of `fault` that is out of range. */
export function validateFault(fault: Fault | undefined, prefix = "fault"): asserts fault is Fault {
  if (fault === undefined) throw invalidArguments([{ field: prefix, reason: "is required" }]);
  const out: Violation[] = [];
  const spec = fault.spec;
  switch (spec.case) {
    case undefined:
      out.push({ field: `${prefix}.spec`, reason: "set exactly one of error_rate, latency, hang, crash, database, cache, memory_pressure" });
      break;
    case "errorRate":
      checkRate(out, `${prefix}.error_rate.rate`, spec.value.rate, false);
      // Unset (OK) means UNAVAILABLE, as the contract says; a number outside google.rpc.Code is refused.
      if (!isEnumValue(RpcCode, spec.value.code)) {
        out.push({ field: `${prefix}.error_rate.code`, reason: "must be a google.rpc.Code; unset means UNAVAILABLE" });
      }
      break;
    case "latency":
      checkDuration(out, `${prefix}.latency.delay`, spec.value.delay, 1, 60_000, true);
      checkDuration(out, `${prefix}.latency.jitter`, spec.value.jitter, 0, 60_000, false);
      checkRate(out, `${prefix}.latency.rate`, spec.value.rate, true);
      break;
    case "hang":
      checkRate(out, `${prefix}.hang.rate`, spec.value.rate, true);
      break;
    case "crash":
      checkDuration(out, `${prefix}.crash.delay`, spec.value.delay, 0, 3_600_000, false);
      if (spec.value.exitCode < 0 || spec.value.exitCode > 255) {
        out.push({ field: `${prefix}.crash.exit_code`, reason: "must be between 1 and 255 (0 means 1)" });
      }
      break;
    case "database":
    case "cache": {
      const name = spec.case;
      checkRate(out, `${prefix}.${name}.failure_rate`, spec.value.failureRate, true);
      checkDuration(out, `${prefix}.${name}.added_latency`, spec.value.addedLatency, 0, 60_000, false);
      const addsLatency = spec.value.addedLatency !== undefined && durationMs(spec.value.addedLatency) > 0;
      if (spec.value.failureRate === 0 && !addsLatency) {
        out.push({ field: `${prefix}.${name}`, reason: "set failure_rate, added_latency or both" });
      }
      break;
    }
    case "memoryPressure":
      if (!Number.isInteger(spec.value.megabytesPerSecond) || spec.value.megabytesPerSecond < 1 || spec.value.megabytesPerSecond > 100) {
        out.push({ field: `${prefix}.memory_pressure.megabytes_per_second`, reason: "must be between 1 and 100" });
      }
      if (!Number.isInteger(spec.value.maxMegabytes) || spec.value.maxMegabytes < 1 || spec.value.maxMegabytes > 1024) {
        out.push({ field: `${prefix}.memory_pressure.max_megabytes`, reason: "must be between 1 and 1024" });
      }
      break;
  }
  checkDuration(out, `${prefix}.duration`, fault.duration, 1000, 86_400_000, true);
  if (fault.methods.length > 50) out.push({ field: `${prefix}.methods`, reason: "at most 50 entries" });
  fault.methods.forEach((m, i) => {
    if (!methodPattern.test(m)) {
      out.push({ field: `${prefix}.methods[${i}]`, reason: "must be `package.Service` or `package.Service/Method`" });
    }
  });
  if (fault.source.length > 200) out.push({ field: `${prefix}.source`, reason: "at most 200 characters" });
  if (out.length > 0) throw invalidArguments(out);
}
