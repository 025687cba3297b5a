import { getOption, hasOption, type DescMethod } from "@bufbuild/protobuf";
import { access } from "../../../../gen/mesh/auth/v1/options_pb.ts";

/** Who may call a method: from its `(mesh.auth.v1.access)` option. */
export interface AccessRule {
  readonly public: boolean;
  /** Empty: any valid token. */
  readonly requiredRole: string;
}

/** The caller, from a verified token. */
export interface Principal {
  readonly subject: string;
  readonly roles: ReadonlySet<string>;
}

export type AccessDecision = "allow" | "unauthenticated" | "permission_denied";

/** The role that holds every role. */
export const adminRole = "admin";

const anyToken: AccessRule = { public: false, requiredRole: "" };

/** A method's rule; methods without the option need a valid token with any roles. */
export function accessRuleOf(method: DescMethod): AccessRule {
  if (!hasOption(method, access)) return anyToken;
  const rule = getOption(method, access);
  return { public: rule.public, requiredRole: rule.requiredRole };
}

/** Whether a caller (undefined: no token) may call a method with this rule. */
export function decideAccess(rule: AccessRule, principal: Principal | undefined): AccessDecision {
  if (rule.public) return "allow";
  if (principal === undefined) return "unauthenticated";
  if (rule.requiredRole === "" || principal.roles.has(rule.requiredRole) || principal.roles.has(adminRole)) return "allow";
  return "permission_denied";
}
