import type { ServiceImpl } from "@connectrpc/connect";
import { PolicyService } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import type { ServicePolicy } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import { invalidArgument } from "../../../../lib/errors/connect-errors.ts";
import type { PolicyStore } from "./policy-store.ts";
import { validatePolicy } from "./validate-policy.ts";
import { requestActor } from "../request-actor.ts";

const servicePattern = /^[A-Za-z0-9._-]{1,100}$/;

/** mesh.control.v1.PolicyService; each change is pushed to watchers through `onChange`. */
export function createPolicyService(deps: { store: PolicyStore; onChange: (policy: ServicePolicy) => void }): ServiceImpl<typeof PolicyService> {
  return {
    async getPolicy(req) {
      if (!servicePattern.test(req.service)) throw invalidArgument("service", "must be a service name such as backend");
      return { policy: await deps.store.get(req.service) };
    },
    async listPolicies() {
      return { policies: await deps.store.list() };
    },
    async setPolicy(req, ctx) {
      validatePolicy(req.policy);
      if (req.expectedVersion < 0n) throw invalidArgument("expected_version", "must not be negative");
      const actor = requestActor(ctx.requestHeader);
      const stored = await deps.store.set(req.policy, req.expectedVersion, actor);
      deps.onChange(stored);
      return { policy: stored };
    },
  };
}
