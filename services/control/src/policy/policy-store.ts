import { create, fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type pg from "pg";
import { EventType } from "../../../../gen/mesh/control/v1/events_pb.ts";
import { ServicePolicySchema, type ServicePolicy } from "../../../../gen/mesh/control/v1/policy_pb.ts";
import type { EventLog } from "../events/event-log.ts";
import { defaultPolicy, withDefaults } from "../../../../lib/policy/policy-defaults.ts";

export interface PolicyStore {
  /** The stored policy with defaults filled in, or the defaults (version 0). */
  get(service: string): Promise<ServicePolicy>;
  list(): Promise<ServicePolicy[]>;
  /**
   * Replaces a service's policy in one transaction with its POLICY_CHANGED event. With `expectedVersion` other
   * than 0, a concurrent change fails with ABORTED naming the current version.
   */
  set(policy: ServicePolicy, expectedVersion: bigint, actor: string): Promise<ServicePolicy>;
}

interface PolicyRow {
  service: string;
  policy: JsonValue;
  version: string;
  updated_at: Date;
  updated_by: string;
}

function toPolicy(row: PolicyRow): ServicePolicy {
  const policy = fromJson(ServicePolicySchema, row.policy, { ignoreUnknownFields: true });
  policy.service = row.service;
  policy.version = BigInt(row.version);
  policy.updateTime = timestampFromDate(row.updated_at);
  policy.updatedBy = row.updated_by;
  return withDefaults(policy);
}

/** Policies in PostgreSQL (control schema), each change recorded in the event log in the same transaction. */
export function createPolicyStore(pool: pg.Pool, events: EventLog): PolicyStore {
  return {
    async get(service) {
      const { rows } = await pool.query<PolicyRow>("SELECT * FROM policies WHERE service = $1", [service]);
      return rows[0] ? toPolicy(rows[0]) : defaultPolicy(service);
    },
    async list() {
      const { rows } = await pool.query<PolicyRow>("SELECT * FROM policies ORDER BY service");
      return rows.map(toPolicy);
    },
    async set(policy, expectedVersion, actor) {
      const body = create(ServicePolicySchema, { ...policy, version: 0n, updateTime: undefined, updatedBy: "" });
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const current = await client.query<{ version: string }>("SELECT version FROM policies WHERE service = $1 FOR UPDATE", [policy.service]);
        const currentVersion = BigInt(current.rows[0]?.version ?? "0");
        if (expectedVersion !== 0n && expectedVersion !== currentVersion) {
          throw new ConnectError(
            `the policy of ${policy.service} changed meanwhile: expected version ${expectedVersion}, current version ${currentVersion}`,
            Code.Aborted,
          );
        }
        const { rows } = await client.query<PolicyRow>(
          `INSERT INTO policies (service, policy, version, updated_by) VALUES ($1, $2, 1, $3)
           ON CONFLICT (service) DO UPDATE SET policy = EXCLUDED.policy, version = policies.version + 1,
             updated_at = now(), updated_by = EXCLUDED.updated_by
           RETURNING *`,
          [policy.service, JSON.stringify(toJson(ServicePolicySchema, body)), actor],
        );
        const stored = toPolicy(rows[0]!);
        const event = await events.insert(
          {
            type: EventType.POLICY_CHANGED,
            service: policy.service,
            message: `policy of ${policy.service} set to version ${stored.version} by ${actor}`,
            attributes: { version: Number(stored.version), actor },
          },
          client,
        );
        await client.query("COMMIT");
        events.publish(event);
        return stored;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}
