import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, type Duration } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { Code as RpcCode } from "../../../../gen/google/rpc/code_pb.ts";
import { FaultSchema, type Fault } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { ChaosService, type FaultTarget } from "../../../../gen/mesh/control/v1/chaos_pb.ts";
import { validateFault } from "../../../../lib/chaos/validate-fault.ts";
import { invalidArgument } from "../../../../lib/errors/connect-errors.ts";
import type { ChaosController } from "./chaos-controller.ts";
import { requestActor } from "../request-actor.ts";

type FaultSpecInit = MessageInitShape<typeof FaultSchema>["spec"];

const namePattern = /^[A-Za-z0-9._-]{1,100}$/;

function checkTarget(target: FaultTarget | undefined): asserts target is FaultTarget {
  if (target === undefined || target.target.case === undefined) throw invalidArgument("target", "set service or instance_id");
  const field = target.target.case === "service" ? "target.service" : "target.instance_id";
  if (!namePattern.test(target.target.value)) throw invalidArgument(field, "must be 1 to 100 characters of A-Z, a-z, 0-9, '.', '_' or '-'");
}

/** mesh.control.v1.ChaosService: the seeds' scenarios as one call each, built on generic fault injection. */
export function createChaosService(chaos: ChaosController): ServiceImpl<typeof ChaosService> {
  async function inject(target: FaultTarget | undefined, fault: Fault, header: Headers) {
    checkTarget(target);
    validateFault(fault);
    return { fault: await chaos.inject(target, fault, requestActor(header)) };
  }
  const faultOf = (duration: Duration | undefined, spec: FaultSpecInit) => create(FaultSchema, { duration, spec });
  return {
    injectFault: (req, ctx) => inject(req.target, req.fault ?? create(FaultSchema), ctx.requestHeader),
    listFaults: () => ({ faults: chaos.list() }),
    async clearFault(req) {
      if (req.id === "") throw invalidArgument("id", "is required");
      return { fault: await chaos.clear(req.id) };
    },
    simulateServiceFailure: (req, ctx) =>
      inject(req.target, faultOf(req.duration, { case: "errorRate", value: { rate: 1, code: RpcCode.UNAVAILABLE } }), ctx.requestHeader),
    simulateNetworkLatency: (req, ctx) =>
      inject(req.target, faultOf(req.duration, { case: "latency", value: { delay: req.latency, jitter: req.jitter, rate: 0 } }), ctx.requestHeader),
    simulateDatabaseOverload(req, ctx) {
      if (!(req.intensity > 0 && req.intensity <= 1)) throw invalidArgument("intensity", "must be greater than 0 and at most 1");
      // Overload: a share of queries fail and every query slows down, both in proportion to the intensity.
      const spec: FaultSpecInit = {
        case: "database",
        value: { failureRate: req.intensity / 2, addedLatency: durationFromMs(Math.round(req.intensity * 2000)) },
      };
      return inject(req.target, faultOf(req.duration, spec), ctx.requestHeader);
    },
    simulateMemoryLeak: (req, ctx) =>
      inject(
        req.target,
        faultOf(req.duration, { case: "memoryPressure", value: { megabytesPerSecond: req.megabytesPerSecond, maxMegabytes: req.maxMegabytes } }),
        ctx.requestHeader,
      ),
  };
}

