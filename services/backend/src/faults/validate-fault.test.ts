import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Code as RpcCode } from "../../../../gen/google/rpc/code_pb.ts";
import { BadRequestSchema } from "../../../../gen/google/rpc/error_details_pb.ts";
import { FaultSchema, type Fault } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { validateFault } from "./validate-fault.ts";

type FaultInit = MessageInitShape<typeof FaultSchema>;

const ms = durationFromMs;

/** A fault of one minute with `init` on top. */
function fault(init: FaultInit): Fault {
  return create(FaultSchema, { duration: ms(60_000), ...init });
}

/** The fields named by validateFault, in order; [] when the fault is valid. */
function violations(value: Fault | undefined, prefix?: string): string[] {
  try {
    validateFault(value, prefix);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    const error = err as ConnectError;
    expect(error.code).toBe(Code.InvalidArgument);
    const fields = error.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field) ?? [];
    // The message names the same fields, for clients that only show the message.
    for (const field of fields) expect(error.rawMessage).toContain(`${field}: `);
    return fields;
  }
}

describe("validateFault", () => {
  it.each<[string, FaultInit]>([
    ["error rate at its bounds", { spec: { case: "errorRate", value: { rate: 1, code: RpcCode.UNAVAILABLE } } }],
    ["an error rate without a code (meaning UNAVAILABLE)", { spec: { case: "errorRate", value: { rate: 0.5 } } }],
    ["error rate just above 0", { spec: { case: "errorRate", value: { rate: 0.001, code: RpcCode.UNAUTHENTICATED } } }],
    ["latency of 1 ms with 60 s of jitter", { spec: { case: "latency", value: { delay: ms(1), jitter: ms(60_000), rate: 0 } } }],
    ["latency of 60 s on every call", { spec: { case: "latency", value: { delay: ms(60_000), rate: 1 } } }],
    ["hang of every call", { spec: { case: "hang", value: { rate: 0 } } }],
    ["crash at once with code 0 (meaning 1)", { spec: { case: "crash", value: { delay: ms(0), exitCode: 0 } } }],
    ["crash after an hour with code 255", { spec: { case: "crash", value: { delay: ms(3_600_000), exitCode: 255 } } }],
    ["database failures only", { spec: { case: "database", value: { failureRate: 0.5 } } }],
    ["cache latency only", { spec: { case: "cache", value: { addedLatency: ms(10) } } }],
    ["memory pressure at the low bounds", { spec: { case: "memoryPressure", value: { megabytesPerSecond: 1, maxMegabytes: 1 } } }],
    ["memory pressure at the high bounds", { spec: { case: "memoryPressure", value: { megabytesPerSecond: 100, maxMegabytes: 1024 } } }],
    ["the shortest duration", { spec: { case: "hang", value: {} }, duration: ms(1000) }],
    ["the longest duration", { spec: { case: "hang", value: {} }, duration: ms(86_400_000) }],
    ["50 methods, services and methods", {
      spec: { case: "hang", value: {} },
      methods: [
        "mesh.data.v1.DataService",
        "mesh.data.v1.DataService/GetItem",
        ...Array.from({ length: 48 }, (_, i) => `mesh.queue.v1.QueueService/M${i}`),
      ],
    }],
    ["a source of 200 characters", { spec: { case: "hang", value: {} }, source: "s".repeat(200) }],
  ])("accepts %s", (_label, init) => {
    expect(violations(fault(init))).toEqual([]);
  });

  it.each<[string, Fault | undefined, string[]]>([
    ["no fault at all", undefined, ["fault"]],
    ["no spec and no duration", create(FaultSchema, {}), ["fault.spec", "fault.duration"]],
    ["an error rate of 0", fault({ spec: { case: "errorRate", value: { rate: 0, code: RpcCode.INTERNAL } } }), ["fault.error_rate.rate"]],
    ["an error rate above 1", fault({ spec: { case: "errorRate", value: { rate: 1.5, code: RpcCode.INTERNAL } } }), ["fault.error_rate.rate"]],
    ["an error rate that is not a number", fault({ spec: { case: "errorRate", value: { rate: Number.NaN, code: RpcCode.INTERNAL } } }), [
      "fault.error_rate.rate",
    ]],
    ["an error rate with an unknown code", fault({ spec: { case: "errorRate", value: { rate: 0.5, code: 99 as RpcCode } } }), [
      "fault.error_rate.code",
    ]],
    ["latency without a delay", fault({ spec: { case: "latency", value: {} } }), ["fault.latency.delay"]],
    ["latency of 0", fault({ spec: { case: "latency", value: { delay: ms(0) } } }), ["fault.latency.delay"]],
    ["latency above 60 s, with jitter above 60 s and a rate above 1", fault({
      spec: { case: "latency", value: { delay: ms(60_001), jitter: ms(60_001), rate: 1.1 } },
    }), ["fault.latency.delay", "fault.latency.jitter", "fault.latency.rate"]],
    ["a negative latency", fault({ spec: { case: "latency", value: { delay: { seconds: -1n, nanos: 0 } } } }), ["fault.latency.delay"]],
    ["latency with negative nanos", fault({ spec: { case: "latency", value: { delay: { seconds: 1n, nanos: -1 } } } }), ["fault.latency.delay"]],
    ["a hang rate below 0", fault({ spec: { case: "hang", value: { rate: -0.1 } } }), ["fault.hang.rate"]],
    ["a crash after more than an hour with code 256", fault({
      spec: { case: "crash", value: { delay: ms(3_600_001), exitCode: 256 } },
    }), ["fault.crash.delay", "fault.crash.exit_code"]],
    ["a crash with a negative code", fault({ spec: { case: "crash", value: { exitCode: -1 } } }), ["fault.crash.exit_code"]],
    ["a database fault that does nothing", fault({ spec: { case: "database", value: {} } }), ["fault.database"]],
    ["a database failure rate above 1", fault({ spec: { case: "database", value: { failureRate: 2 } } }), ["fault.database.failure_rate"]],
    ["a cache latency above 60 s", fault({ spec: { case: "cache", value: { addedLatency: ms(60_001) } } }), ["fault.cache.added_latency"]],
    ["a cache fault that does nothing", fault({ spec: { case: "cache", value: { failureRate: 0 } } }), ["fault.cache"]],
    ["a database fault adding no latency", fault({ spec: { case: "database", value: { addedLatency: ms(0) } } }), ["fault.database"]],
    ["memory pressure of 0 up to 0", fault({ spec: { case: "memoryPressure", value: {} } }), [
      "fault.memory_pressure.megabytes_per_second",
      "fault.memory_pressure.max_megabytes",
    ]],
    ["memory pressure above the bounds", fault({ spec: { case: "memoryPressure", value: { megabytesPerSecond: 101, maxMegabytes: 1025 } } }), [
      "fault.memory_pressure.megabytes_per_second",
      "fault.memory_pressure.max_megabytes",
    ]],
    ["memory pressure in fractions", fault({ spec: { case: "memoryPressure", value: { megabytesPerSecond: 1.5, maxMegabytes: 2.5 } } }), [
      "fault.memory_pressure.megabytes_per_second",
      "fault.memory_pressure.max_megabytes",
    ]],
    ["a duration under 1 s", fault({ spec: { case: "hang", value: {} }, duration: ms(999) }), ["fault.duration"]],
    ["a duration over 24 h", fault({ spec: { case: "hang", value: {} }, duration: ms(86_400_001) }), ["fault.duration"]],
    ["51 methods", fault({ spec: { case: "hang", value: {} }, methods: Array.from({ length: 51 }, (_, i) => `a.S/M${i}`) }), ["fault.methods"]],
    ["methods that are not services or methods", fault({
      spec: { case: "hang", value: {} },
      methods: ["mesh.data.v1.DataService", "GetItem", "mesh.data.v1.DataService/", "/mesh.data.v1.DataService/GetItem", "a.B/c/d"],
    }), ["fault.methods[1]", "fault.methods[2]", "fault.methods[3]", "fault.methods[4]"]],
    ["a source of 201 characters", fault({ spec: { case: "hang", value: {} }, source: "s".repeat(201) }), ["fault.source"]],
    ["everything wrong at once", create(FaultSchema, {
      spec: { case: "errorRate", value: { rate: 2, code: 99 as RpcCode } },
      duration: ms(1),
      methods: ["nope"],
      source: "s".repeat(201),
    }), ["fault.error_rate.rate", "fault.error_rate.code", "fault.duration", "fault.methods[0]", "fault.source"]],
  ])("names the bad fields of %s", (_label, value, fields) => {
    expect(violations(value)).toEqual(fields);
  });

  it("names fields under the prefix it is given", () => {
    expect(violations(create(FaultSchema, { spec: { case: "hang", value: { rate: 2 } } }), "faults[3]")).toEqual([
      "faults[3].hang.rate",
      "faults[3].duration",
    ]);
    expect(violations(undefined, "request.fault")).toEqual(["request.fault"]);
  });
});
