import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code as RpcCode } from "../../../gen/google/rpc/code_pb.ts";
import type { Fault } from "../../../gen/mesh/chaos/v1/fault_pb.ts";
import type { FaultTarget } from "../../../gen/mesh/control/v1/chaos_pb.ts";
import { faultKindLabels } from "./fault-form.ts";

const percent = (rate: number) => `${Math.round(rate * 1000) / 10} %`;
const ms = (d: Parameters<typeof durationMs>[0] | undefined) => (d === undefined ? 0 : durationMs(d));
const codeName = (code: number) => Object.entries(RpcCode).find(([, n]) => n === code)?.[0] ?? String(code);
/** A share of calls where 0 means every call. */
const share = (rate: number) => (rate === 0 || rate >= 1 ? "every call" : `${percent(rate)} of calls`);

/** A fault's kind and parameters in one short line, such as "Latency 200 ms ± 50 ms, every call". */
export function describeFault(fault: Fault | undefined): string {
  const spec = fault?.spec;
  if (!spec || spec.case === undefined) return "Unknown fault";
  const label = faultKindLabels[spec.case];
  switch (spec.case) {
    case "errorRate":
      return `${label} ${percent(spec.value.rate)} ${codeName(spec.value.code === RpcCode.OK ? RpcCode.UNAVAILABLE : spec.value.code)}`;
    case "latency": {
      const jitter = ms(spec.value.jitter);
      return `${label} ${ms(spec.value.delay)} ms${jitter > 0 ? ` ± ${jitter} ms` : ""}, ${share(spec.value.rate)}`;
    }
    case "hang":
      return `${label}, ${share(spec.value.rate)}`;
    case "crash":
      return `${label} after ${ms(spec.value.delay) / 1000} s, exit code ${spec.value.exitCode || 1}`;
    case "database":
    case "cache": {
      const parts = [];
      if (spec.value.failureRate > 0) parts.push(`${percent(spec.value.failureRate)} failing`);
      const added = ms(spec.value.addedLatency);
      if (added > 0) parts.push(`+${added} ms`);
      return `${label} ${parts.join(", ")}`;
    }
    case "memoryPressure":
      return `${label} ${spec.value.megabytesPerSecond} MB/s up to ${spec.value.maxMegabytes} MB`;
  }
}

/** "instance backend-1" or "service backend". */
export function describeTarget(target: FaultTarget | undefined): string {
  switch (target?.target.case) {
    case "instanceId":
      return `instance ${target.target.value}`;
    case "service":
      return `service ${target.target.value}`;
    default:
      return "no target";
  }
}
