import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code as RpcCode } from "../../../gen/google/rpc/code_pb.ts";
import type { FaultSchema } from "../../../gen/mesh/chaos/v1/fault_pb.ts";
import { InjectFaultRequestSchema, type InjectFaultRequest } from "../../../gen/mesh/control/v1/chaos_pb.ts";
import { violationFieldLookup } from "../ui/field-violations.ts";
import { createNumberReader } from "../ui/read-number.ts";
import type { ParsedForm } from "../ui/use-action-form.ts";

/** The `spec` cases of mesh.chaos.v1.Fault, in the order the form offers them. */
export const faultKinds = ["errorRate", "latency", "hang", "crash", "database", "cache", "memoryPressure"] as const;
export type FaultKindName = (typeof faultKinds)[number];

export const faultKindLabels: Record<FaultKindName, string> = {
  errorRate: "Error rate",
  latency: "Latency",
  hang: "Hang",
  crash: "Crash",
  database: "Database",
  cache: "Cache",
  memoryPressure: "Memory pressure",
};

/** The status codes an error fault may fail with (every code but OK), by name. */
export const errorCodeNames: readonly string[] = Object.keys(RpcCode).filter((name) => name !== "OK");

/** What the chaos form holds: strings as typed, turned into a request by `parseFaultForm`. */
export interface FaultForm {
  targetKind: "instance" | "service";
  /** An instance id or a service name. */
  target: string;
  kind: FaultKindName;
  durationSeconds: string;
  /** `package.Service` or `package.Service/Method`, separated by commas, spaces or new lines. */
  methods: string;
  errorRatePercent: string;
  errorCode: string;
  latencyMs: string;
  jitterMs: string;
  /** Share of calls delayed or hung; empty or 0 means every call. */
  affectedPercent: string;
  crashDelaySeconds: string;
  crashExitCode: string;
  dependencyFailurePercent: string;
  dependencyLatencyMs: string;
  memoryMbPerSecond: string;
  memoryMaxMb: string;
}

export type FaultFormField = keyof FaultForm;
export type FaultFormErrors = Partial<Record<FaultFormField, string>>;

export const defaultFaultForm: FaultForm = {
  targetKind: "instance",
  target: "",
  kind: "errorRate",
  durationSeconds: "60",
  methods: "",
  errorRatePercent: "100",
  errorCode: "UNAVAILABLE",
  latencyMs: "500",
  jitterMs: "0",
  affectedPercent: "100",
  crashDelaySeconds: "0",
  crashExitCode: "1",
  dependencyFailurePercent: "100",
  dependencyLatencyMs: "0",
  memoryMbPerSecond: "10",
  memoryMaxMb: "256",
};

const targetPattern = /^[A-Za-z0-9._-]{1,100}$/;
const methodPattern = /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+(\/[A-Za-z_]\w*)?$/;

type SpecInit = MessageInitShape<typeof FaultSchema>["spec"];

function specOf(form: FaultForm, read: ReturnType<typeof createNumberReader<FaultFormField>>, errors: FaultFormErrors): SpecInit {
  switch (form.kind) {
    case "errorRate": {
      const percent = read("errorRatePercent", "Error rate", { min: 0, max: 100, unit: "%" });
      if (percent === 0) errors.errorRatePercent = "Error rate must be more than 0 %";
      const code = RpcCode[form.errorCode as keyof typeof RpcCode];
      if (code === undefined || code === RpcCode.OK) errors.errorCode = "Choose a status code other than OK";
      return { case: "errorRate", value: { rate: percent / 100, code: code ?? RpcCode.UNAVAILABLE } };
    }
    case "latency": {
      const delay = read("latencyMs", "Latency", { min: 1, max: 60_000, unit: "ms" });
      const jitter = read("jitterMs", "Jitter", { min: 0, max: 60_000, unit: "ms", blank: 0 });
      const percent = read("affectedPercent", "Share of calls", { min: 0, max: 100, unit: "%", blank: 0 });
      return { case: "latency", value: { delay: durationFromMs(delay), jitter: durationFromMs(jitter), rate: percent >= 100 ? 0 : percent / 100 } };
    }
    case "hang": {
      const percent = read("affectedPercent", "Share of calls", { min: 0, max: 100, unit: "%", blank: 0 });
      return { case: "hang", value: { rate: percent >= 100 ? 0 : percent / 100 } };
    }
    case "crash": {
      const delay = read("crashDelaySeconds", "Delay", { min: 0, max: 3600, unit: "s", blank: 0 });
      const exitCode = read("crashExitCode", "Exit code", { min: 1, max: 255, integer: true, blank: 1 });
      return { case: "crash", value: { delay: durationFromMs(delay * 1000), exitCode } };
    }
    case "database":
    case "cache": {
      const percent = read("dependencyFailurePercent", "Failure rate", { min: 0, max: 100, unit: "%", blank: 0 });
      const latency = read("dependencyLatencyMs", "Added latency", { min: 0, max: 60_000, unit: "ms", blank: 0 });
      if (percent === 0 && latency === 0 && errors.dependencyFailurePercent === undefined && errors.dependencyLatencyMs === undefined) {
        errors.dependencyFailurePercent = "Set a failure rate, an added latency or both";
      }
      return { case: form.kind, value: { failureRate: percent / 100, addedLatency: durationFromMs(latency) } };
    }
    case "memoryPressure": {
      const rate = read("memoryMbPerSecond", "Growth", { min: 1, max: 100, integer: true, unit: "MB/s" });
      const max = read("memoryMaxMb", "Bound", { min: 1, max: 1024, integer: true, unit: "MB" });
      return { case: "memoryPressure", value: { megabytesPerSecond: rate, maxMegabytes: max } };
    }
  }
}

/** Splits the methods field into its entries. */
export function parseMethods(text: string): string[] {
  return text.split(/[\s,]+/).filter((m) => m !== "");
}

/**
 * Turns the chaos form into a ChaosService.InjectFault request, or into a message per bad field. The ranges
 * are the server's (lib/chaos/validate-fault.ts); the server stays the judge and its refusals are shown too.
 */
export function parseFaultForm(form: FaultForm): ParsedForm<InjectFaultRequest, FaultFormField> {
  const errors: FaultFormErrors = {};
  const read = createNumberReader<FaultFormField>(form, errors);
  const target = form.target.trim();
  if (target === "") errors.target = form.targetKind === "instance" ? "Choose an instance" : "Choose a service";
  else if (!targetPattern.test(target)) errors.target = "Use 1 to 100 letters, digits, '.', '_' or '-'";
  const spec = specOf(form, read, errors);
  const seconds = read("durationSeconds", "Duration", { min: 1, max: 86_400, unit: "s" });
  const methods = parseMethods(form.methods);
  const badMethod = methods.find((m) => !methodPattern.test(m));
  if (badMethod !== undefined) errors.methods = `"${badMethod}" is not package.Service or package.Service/Method`;
  else if (methods.length > 50) errors.methods = "At most 50 methods";
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const request = create(InjectFaultRequestSchema, {
    target: { target: form.targetKind === "instance" ? { case: "instanceId", value: target } : { case: "service", value: target } },
    fault: { spec, duration: durationFromMs(Math.round(seconds * 1000)), methods },
  });
  return { ok: true, request };
}

const violationFields: ReadonlyArray<readonly [RegExp, FaultFormField]> = [
  [/^target/, "target"],
  [/\.error_rate\.rate$/, "errorRatePercent"],
  [/\.error_rate\.code$/, "errorCode"],
  [/\.latency\.delay$/, "latencyMs"],
  [/\.latency\.jitter$/, "jitterMs"],
  [/\.(latency|hang)\.rate$/, "affectedPercent"],
  [/\.crash\.delay$/, "crashDelaySeconds"],
  [/\.crash\.exit_code$/, "crashExitCode"],
  [/\.(database|cache)(\.failure_rate)?$/, "dependencyFailurePercent"],
  [/\.(database|cache)\.added_latency$/, "dependencyLatencyMs"],
  [/\.memory_pressure\.megabytes_per_second$/, "memoryMbPerSecond"],
  [/\.memory_pressure\.max_megabytes$/, "memoryMaxMb"],
  [/^fault\.duration$/, "durationSeconds"],
  [/^fault\.methods/, "methods"],
];

/** The form field a server field violation (such as `fault.latency.delay`) belongs to, if any. */
export const formFieldOfViolation = violationFieldLookup(violationFields);
