import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { FaultKind, FaultService } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { invalidArgument, notFound } from "../../../../lib/errors/connect-errors.ts";
import { isEnumValue } from "../../../../lib/errors/enum-value.ts";
import type { FaultRegistry } from "./fault-registry.ts";
import { validateFault } from "./validate-fault.ts";

/** Kinds whose effect lives in the data layer, which does not consult the registry yet. */
const notYetSupported = new Set(["database", "cache"]);

/** mesh.chaos.v1.FaultService: the instance's fault hook. */
export function createFaultService(faults: FaultRegistry): ServiceImpl<typeof FaultService> {
  return {
    injectFault(req) {
      validateFault(req.fault);
      if (req.fault.spec.case !== undefined && notYetSupported.has(req.fault.spec.case)) {
        throw new ConnectError(`${req.fault.spec.case} faults are not supported by this backend yet`, Code.Unimplemented);
      }
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
