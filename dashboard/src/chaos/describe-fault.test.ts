import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { Code as RpcCode } from "../../../gen/google/rpc/code_pb.ts";
import { FaultSchema } from "../../../gen/mesh/chaos/v1/fault_pb.ts";
import { FaultTargetSchema } from "../../../gen/mesh/control/v1/chaos_pb.ts";
import { describeFault, describeTarget } from "./describe-fault.ts";

describe("describeFault", () => {
  it.each([
    [{ case: "errorRate", value: { rate: 1, code: RpcCode.UNAVAILABLE } }, "Error rate 100 % UNAVAILABLE"],
    [{ case: "errorRate", value: { rate: 0.125, code: RpcCode.OK } }, "Error rate 12.5 % UNAVAILABLE"],
    [{ case: "latency", value: { delay: durationFromMs(200), jitter: durationFromMs(50), rate: 0 } }, "Latency 200 ms ± 50 ms, every call"],
    [{ case: "latency", value: { delay: durationFromMs(200), rate: 0.3 } }, "Latency 200 ms, 30 % of calls"],
    [{ case: "hang", value: { rate: 0 } }, "Hang, every call"],
    [{ case: "crash", value: { delay: durationFromMs(2000), exitCode: 0 } }, "Crash after 2 s, exit code 1"],
    [{ case: "database", value: { failureRate: 0.5, addedLatency: durationFromMs(1000) } }, "Database 50 % failing, +1000 ms"],
    [{ case: "cache", value: { failureRate: 1 } }, "Cache 100 % failing"],
    [{ case: "memoryPressure", value: { megabytesPerSecond: 10, maxMegabytes: 256 } }, "Memory pressure 10 MB/s up to 256 MB"],
  ] as const)("%o → %s", (spec, text) => {
    expect(describeFault(create(FaultSchema, { spec }))).toBe(text);
  });

  it("says when there is no fault", () => {
    expect(describeFault(undefined)).toBe("Unknown fault");
  });
});

describe("describeTarget", () => {
  it("names an instance or a service", () => {
    expect(describeTarget(create(FaultTargetSchema, { target: { case: "instanceId", value: "backend-1" } }))).toBe("instance backend-1");
    expect(describeTarget(create(FaultTargetSchema, { target: { case: "service", value: "backend" } }))).toBe("service backend");
  });
});
