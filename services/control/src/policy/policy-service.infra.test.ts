import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventService, EventType } from "../../../../gen/mesh/control/v1/events_pb.ts";
import { LoadBalancing, PolicyService, ServicePolicySchema, type ServicePolicy } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import { migrate } from "../../../../lib/db/migrate.ts";
import { createTestSchema, type TestSchema } from "../../../../test/test-schema.ts";
import { controlMigrationsDir } from "../control.ts";
import { createEventLog } from "../events/event-log.ts";
import { createEventService } from "../events/event-service.ts";
import { createPolicyService } from "./policy-service.ts";
import { createPolicyStore } from "./policy-store.ts";

let db: TestSchema;
let pushed: ServicePolicy[];
let policies: ReturnType<typeof createClient<typeof PolicyService>>;
let events: ReturnType<typeof createClient<typeof EventService>>;

beforeAll(async () => {
  db = await createTestSchema("control-policy");
  await migrate(db.pool, { dir: controlMigrationsDir, schema: db.schema });
  const log = createEventLog(db.pool);
  const store = createPolicyStore(db.pool, log);
  pushed = [];
  const transport = createRouterTransport(({ service }) => {
    service(PolicyService, createPolicyService({ store, onChange: (p) => pushed.push(p) }));
    service(EventService, createEventService({ log }));
  });
  policies = createClient(PolicyService, transport);
  events = createClient(EventService, transport);
});
afterAll(() => db.drop());

describe("PolicyService on PostgreSQL", () => {
  it("returns the documented defaults, version 0, for a service never set", async () => {
    const { policy } = await policies.getPolicy({ service: "never-set" });
    expect(policy?.version).toBe(0n);
    expect(policy?.loadBalancing).toBe(LoadBalancing.ROUND_ROBIN);
    expect(policy?.retry?.maxAttempts).toBe(3);
    expect(policy?.retry?.budgetRatio).toBe(0.2);
    expect(policy?.timeout?.requestTimeout).toEqual(durationFromMs(15_000));
    expect(policy?.breaker?.consecutiveFailures).toBe(5);
    expect(policy?.breaker?.maxEjectionRatio).toBe(0.5);
  });

  it("stores a policy with increasing versions, pushes it, and records an event in the same transaction", async () => {
    const first = await policies.setPolicy(
      { policy: create(ServicePolicySchema, { service: "backend", loadBalancing: LoadBalancing.PEAK_EWMA }) },
      { headers: { "x-actor": "alice" } },
    );
    expect(first.policy?.version).toBe(1n);
    expect(first.policy?.updatedBy).toBe("alice");
    const second = await policies.setPolicy({ policy: create(ServicePolicySchema, { service: "backend", loadBalancing: LoadBalancing.LEAST_REQUEST }), expectedVersion: 1n });
    expect(second.policy?.version).toBe(2n);
    const read = await policies.getPolicy({ service: "backend" });
    expect(read.policy?.loadBalancing).toBe(LoadBalancing.LEAST_REQUEST);
    expect(pushed.map((p) => [p.service, p.version])).toEqual([
      ["backend", 1n],
      ["backend", 2n],
    ]);
    const listed = await events.listEvents({ types: [EventType.POLICY_CHANGED], service: "backend" });
    expect(listed.events.map((e) => e.message)).toEqual([
      "policy of backend set to version 2 by anonymous",
      "policy of backend set to version 1 by alice",
    ]);
  });

  it("rejects a stale expected version with ABORTED naming the current one, and changes nothing", async () => {
    const err = await policies
      .setPolicy({ policy: create(ServicePolicySchema, { service: "backend" }), expectedVersion: 1n })
      .catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Aborted);
    expect((err as ConnectError).rawMessage).toContain("current version 2");
    expect((await policies.getPolicy({ service: "backend" })).policy?.version).toBe(2n);
    expect((await events.listEvents({ types: [EventType.POLICY_CHANGED], service: "backend" })).events).toHaveLength(2);
  });

  it.each<[string, MessageInitShape<typeof ServicePolicySchema>, string]>([
    ["a bad service name", { service: "no spaces" }, "policy.service"],
    ["too many attempts", { retry: { maxAttempts: 11 } }, "policy.retry.max_attempts"],
    ["a max backoff below the initial one", { retry: { initialBackoff: durationFromMs(500), maxBackoff: durationFromMs(100) } }, "policy.retry.max_backoff"],
    ["a budget ratio above 1", { retry: { budgetRatio: 1.5 } }, "policy.retry.budget_ratio"],
    ["an attempt timeout longer than the request", { timeout: { requestTimeout: durationFromMs(100), attemptTimeout: durationFromMs(200) } }, "policy.timeout.attempt_timeout"],
    ["ejecting every instance", { breaker: { maxEjectionRatio: 1 } }, "policy.breaker.max_ejection_ratio"],
    ["a negative failure threshold", { breaker: { consecutiveFailures: -1 } }, "policy.breaker.consecutive_failures"],
    ["an unknown algorithm", { loadBalancing: 42 as LoadBalancing }, "policy.load_balancing"],
    ["a malformed method", { methods: [{ method: "Get" }] }, "policy.methods[0].method"],
  ])("rejects %s naming %s", async (_name, change, field) => {
    const policy = create(ServicePolicySchema, { service: "backend", ...change });
    const err = await policies.setPolicy({ policy }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain(`${field}:`);
  });
});

describe("EventService on PostgreSQL", () => {
  it("lists newest first with stable page tokens, and rejects a forged token", async () => {
    for (let i = 0; i < 5; i++) {
      await policies.setPolicy({ policy: create(ServicePolicySchema, { service: "paged" }) });
    }
    const first = await events.listEvents({ service: "paged", pageSize: 2 });
    const second = await events.listEvents({ service: "paged", pageSize: 2, pageToken: first.nextPageToken });
    const third = await events.listEvents({ service: "paged", pageSize: 2, pageToken: second.nextPageToken });
    const versions = [...first.events, ...second.events, ...third.events].map((e) => e.attributes?.version);
    expect(versions).toEqual([5, 4, 3, 2, 1]);
    expect(third.nextPageToken).toBe("");
    await expect(events.listEvents({ pageToken: "not-a-token" })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(events.listEvents({ pageSize: 1001 })).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  it("watch replays after a sequence, then streams new events live", async () => {
    const { events: latest } = await events.listEvents({ service: "paged", pageSize: 2 });
    const resumeAfter = latest[1]!.sequence;
    const abort = new AbortController();
    const seen: number[] = [];
    const done = (async () => {
      for await (const { event } of events.watchEvents({ service: "paged", afterSequence: resumeAfter }, { signal: abort.signal })) {
        seen.push(Number(event?.attributes?.version));
        if (seen.length === 2) abort.abort();
      }
    })().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    await policies.setPolicy({ policy: create(ServicePolicySchema, { service: "paged" }) });
    await done;
    expect(seen).toEqual([5, 6]);
  });
});
