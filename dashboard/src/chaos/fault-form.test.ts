import { durationMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { Code as RpcCode } from "../../../gen/google/rpc/code_pb.ts";
import { validateFault } from "../../../lib/chaos/validate-fault.ts";
import { defaultFaultForm, faultKinds, formFieldOfViolation, parseFaultForm, parseMethods, type FaultForm } from "./fault-form.ts";

const form = (overrides: Partial<FaultForm>): FaultForm => ({ ...defaultFaultForm, target: "backend-1", ...overrides });

describe("parseFaultForm", () => {
  it("turns the default error form into a 100 % UNAVAILABLE fault on an instance", () => {
    const result = parseFaultForm(form({}));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.request.target?.target).toEqual({ case: "instanceId", value: "backend-1" });
    expect(result.request.fault?.spec).toMatchObject({ case: "errorRate", value: { rate: 1, code: RpcCode.UNAVAILABLE } });
    expect(durationMs(result.request.fault!.duration!)).toBe(60_000);
    expect(result.request.fault?.methods).toEqual([]);
  });

  it("targets a whole service and keeps a method filter", () => {
    const result = parseFaultForm(form({ targetKind: "service", target: "backend", methods: "mesh.data.v1.DataService/ListItems, mesh.queue.v1.QueueService" }));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.request.target?.target).toEqual({ case: "service", value: "backend" });
    expect(result.request.fault?.methods).toEqual(["mesh.data.v1.DataService/ListItems", "mesh.queue.v1.QueueService"]);
  });

  it.each([
    [{ kind: "latency", latencyMs: "250", jitterMs: "50", affectedPercent: "100" }, { case: "latency", value: { rate: 0 } }],
    [{ kind: "latency", latencyMs: "250", jitterMs: "", affectedPercent: "25" }, { case: "latency", value: { rate: 0.25 } }],
    [{ kind: "hang", affectedPercent: "50" }, { case: "hang", value: { rate: 0.5 } }],
    [{ kind: "crash", crashDelaySeconds: "2", crashExitCode: "3" }, { case: "crash", value: { exitCode: 3 } }],
    [{ kind: "database", dependencyFailurePercent: "0", dependencyLatencyMs: "300" }, { case: "database", value: { failureRate: 0 } }],
    [{ kind: "cache", dependencyFailurePercent: "40", dependencyLatencyMs: "" }, { case: "cache", value: { failureRate: 0.4 } }],
    [{ kind: "memoryPressure", memoryMbPerSecond: "5", memoryMaxMb: "64" }, { case: "memoryPressure", value: { megabytesPerSecond: 5, maxMegabytes: 64 } }],
    [{ kind: "errorRate", errorRatePercent: "12.5", errorCode: "RESOURCE_EXHAUSTED" }, { case: "errorRate", value: { rate: 0.125, code: RpcCode.RESOURCE_EXHAUSTED } }],
  ] as const)("builds %o", (overrides, spec) => {
    const result = parseFaultForm(form(overrides));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.request.fault?.spec).toMatchObject(spec);
  });

  it("builds only requests the server's validation accepts, for every kind", () => {
    for (const kind of faultKinds) {
      const result = parseFaultForm(form({ kind }));
      if (!result.ok) throw new Error(`${kind}: ${JSON.stringify(result.errors)}`);
      expect(() => validateFault(result.request.fault)).not.toThrow();
    }
  });

  it.each([
    [{ target: "" }, "target", "Choose an instance"],
    [{ targetKind: "service", target: "" }, "target", "Choose a service"],
    [{ target: "backend 1" }, "target", "letters, digits"],
    [{ durationSeconds: "0.5" }, "durationSeconds", "Duration must be between 1 and 86,400 s"],
    [{ durationSeconds: "" }, "durationSeconds", "Duration must be a number"],
    [{ durationSeconds: "abc" }, "durationSeconds", "Duration must be a number"],
    [{ errorRatePercent: "0" }, "errorRatePercent", "more than 0 %"],
    [{ errorRatePercent: "101" }, "errorRatePercent", "between 0 and 100 %"],
    [{ errorCode: "OK" }, "errorCode", "other than OK"],
    [{ kind: "latency", latencyMs: "0" }, "latencyMs", "between 1 and 60,000 ms"],
    [{ kind: "latency", jitterMs: "-1" }, "jitterMs", "between 0 and 60,000 ms"],
    [{ kind: "crash", crashExitCode: "1.5" }, "crashExitCode", "whole number"],
    [{ kind: "database", dependencyFailurePercent: "0", dependencyLatencyMs: "0" }, "dependencyFailurePercent", "failure rate, an added latency or both"],
    [{ kind: "memoryPressure", memoryMbPerSecond: "101" }, "memoryMbPerSecond", "between 1 and 100 MB/s"],
    [{ kind: "memoryPressure", memoryMaxMb: "2048" }, "memoryMaxMb", "between 1 and 1,024 MB"],
    [{ methods: "DataService" }, "methods", "\"DataService\" is not package.Service"],
  ] as const)("refuses %o on %s", (overrides, field, message) => {
    const result = parseFaultForm(form(overrides));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[field]).toContain(message);
  });
});

describe("parseMethods", () => {
  it("splits on commas, spaces and new lines", () => {
    expect(parseMethods(" a.B/C,\n d.E  f.G/H ")).toEqual(["a.B/C", "d.E", "f.G/H"]);
  });
});

describe("formFieldOfViolation", () => {
  it.each([
    ["target", "target"],
    ["target.instance_id", "target"],
    ["fault.duration", "durationSeconds"],
    ["fault.error_rate.rate", "errorRatePercent"],
    ["fault.latency.rate", "affectedPercent"],
    ["fault.hang.rate", "affectedPercent"],
    ["fault.cache", "dependencyFailurePercent"],
    ["fault.database.added_latency", "dependencyLatencyMs"],
    ["fault.methods[2]", "methods"],
    ["fault.memory_pressure.max_megabytes", "memoryMaxMb"],
    ["fault.source", undefined],
  ])("%s → %s", (field, expected) => {
    expect(formFieldOfViolation(field)).toBe(expected);
  });
});
