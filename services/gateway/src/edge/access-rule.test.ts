import { describe, expect, it } from "vitest";
import { BreakerService } from "../../../../gen/mesh/control/v1/breaker_pb.ts";
import { ChaosService } from "../../../../gen/mesh/control/v1/chaos_pb.ts";
import { EventService } from "../../../../gen/mesh/control/v1/events_pb.ts";
import { LoadTestService } from "../../../../gen/mesh/control/v1/load_test_pb.ts";
import { OverviewService } from "../../../../gen/mesh/control/v1/overview_pb.ts";
import { PolicyService } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import { RegistryService } from "../../../../gen/mesh/control/v1/registry_pb.ts";
import { ScalingService } from "../../../../gen/mesh/control/v1/scaling_pb.ts";
import { DataService } from "../../../../gen/mesh/data/v1/data_pb.ts";
import { FaultService } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import { StatusService } from "../../../../gen/mesh/health/v1/status_pb.ts";
import { QueueService } from "../../../../gen/mesh/queue/v1/queue_pb.ts";
import { accessRuleOf, decideAccess, type AccessRule, type Principal } from "./access-rule.ts";

const who = (...roles: string[]): Principal => ({ subject: "s", roles: new Set(roles) });

describe("accessRuleOf: the roles declared in the protos", () => {
  it.each([
    [DataService.method.getItem, { public: false, requiredRole: "user" }],
    [DataService.method.createItem, { public: false, requiredRole: "user" }],
    [QueueService.method.enqueue, { public: false, requiredRole: "user" }],
    [PolicyService.method.setPolicy, { public: false, requiredRole: "admin" }],
    [PolicyService.method.getPolicy, { public: false, requiredRole: "user" }],
    [BreakerService.method.resetBreaker, { public: false, requiredRole: "admin" }],
    [BreakerService.method.listBreakers, { public: false, requiredRole: "user" }],
    [BreakerService.method.reportBreakers, { public: false, requiredRole: "admin" }],
    [OverviewService.method.watchOverview, { public: false, requiredRole: "user" }],
    [RegistryService.method.watchInstances, { public: false, requiredRole: "user" }],
    [RegistryService.method.register, { public: false, requiredRole: "admin" }],
    [ChaosService.method.listFaults, { public: false, requiredRole: "user" }],
    [ChaosService.method.injectFault, { public: false, requiredRole: "admin" }],
    [ScalingService.method.getScale, { public: false, requiredRole: "user" }],
    [ScalingService.method.scaleService, { public: false, requiredRole: "admin" }],
    [LoadTestService.method.watchLoadTest, { public: false, requiredRole: "user" }],
    [LoadTestService.method.startLoadTest, { public: false, requiredRole: "admin" }],
    [EventService.method.watchEvents, { public: false, requiredRole: "user" }],
    [FaultService.method.injectFault, { public: false, requiredRole: "admin" }],
    [StatusService.method.getStatus, { public: true, requiredRole: "" }],
  ])("%s", (method, rule) => {
    expect(accessRuleOf(method)).toEqual(rule);
  });
});

describe("decideAccess", () => {
  const user: AccessRule = { public: false, requiredRole: "user" };
  const admin: AccessRule = { public: false, requiredRole: "admin" };
  it.each([
    ["public, no token", { public: true, requiredRole: "" }, undefined, "allow"],
    ["any token, no token", { public: false, requiredRole: "" }, undefined, "unauthenticated"],
    ["any token, a token without roles", { public: false, requiredRole: "" }, who(), "allow"],
    ["user role, no token", user, undefined, "unauthenticated"],
    ["user role, a user", user, who("user"), "allow"],
    ["user role, an admin", user, who("admin"), "allow"],
    ["user role, another role", user, who("viewer"), "permission_denied"],
    ["admin role, a user (escalation)", admin, who("user"), "permission_denied"],
    ["admin role, an admin", admin, who("admin", "user"), "allow"],
    ["admin role, a role named like admin", admin, who("Admin", "admin "), "permission_denied"],
  ] as const)("%s → %s", (_label, rule, principal, decision) => {
    expect(decideAccess(rule, principal)).toBe(decision);
  });
});
