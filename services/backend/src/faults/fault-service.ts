import type { ServiceImpl } from "@connectrpc/connect";
import { FaultKind, FaultService } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { invalidArgument, notFound } from "../../../../lib/errors/connect-errors.ts";
import { isEnumValue } from "../../../../lib/errors/enum-value.ts";
import type { FaultRegistry } from "./fault-registry.ts";
import { validateFault } from "./validate-fault.ts";

/** mesh.chaos.v1.FaultService: the instance's fault hook. */
export function createFaultService(faults: FaultRegistry): ServiceImpl<typeof FaultService> {
  return {
    injectFault(req) {
      validateFault(req.fault);
      return { fault: faults.inject(req.fault) };
    },
    listFaults: () => ({ faults: faults.list() }),
    clearFault(req) {
      if (req.id === "") throw invalidArgument("id", "is required");
      const fault = faults.clear(req.id);
      if (!fault) throw notFound("fault", req.id);
      return { fault };
    },
    clearFaults(req) {
      if (!isEnumValue(FaultKind, req.kind)) throw invalidArgument("kind", "unknown fault kind");
      return { faults: faults.clearAll(req.kind) };
    },
  };
}
