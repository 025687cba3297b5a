import type { BreakerState } from "../../../gen/mesh/control/v1/breaker_pb.ts";
import type { ActiveFault } from "../../../gen/mesh/control/v1/chaos_pb.ts";
import { ServingState, type Instance } from "../../../gen/mesh/control/v1/registry_pb.ts";
import { breakerBadge } from "../breakers/breaker-states.ts";
import type { StreamStatus } from "../streams/reconnect-loop.ts";
import { EmptyState } from "../ui/empty-state.tsx";
import { ResponsiveTable } from "../ui/responsive-table.tsx";
import { StatusBadge } from "../ui/status-badge.tsx";
import { StreamStatusBadge } from "../ui/stream-status-badge.tsx";

function healthBadge(state: ServingState) {
  if (state === ServingState.SERVING) return <StatusBadge tone="ok" label="serving" />;
  if (state === ServingState.NOT_SERVING) return <StatusBadge tone="failing" label="not serving" />;
  return <StatusBadge tone="unknown" label="not checked" />;
}

/** Every instance with its health, breaker and the faults on it: where to aim, and the effect of a fault. */
export function ChaosTargetsPanel(props: {
  instances: readonly Instance[];
  registryStatus: StreamStatus;
  breakers: ReadonlyMap<string, BreakerState>;
  breakerStatus: StreamStatus;
  faults: readonly ActiveFault[];
}) {
  return (
    <section class="panel" aria-labelledby="chaos-targets-title">
      <div class="panel-title">
        <h3 id="chaos-targets-title">Instances</h3>
        <span class="pill-list">
          <StreamStatusBadge status={props.registryStatus} what="registry" />
          <StreamStatusBadge status={props.breakerStatus} what="breakers" />
        </span>
      </div>
      {props.instances.length === 0 ? (
        <EmptyState title="No instances registered">
          <p>
            Start the mesh with <code>npm start</code>; instances appear here as they register.
          </p>
        </EmptyState>
      ) : (
        <ResponsiveTable columns={[{ label: "Instance" }, { label: "Service" }, { label: "Health" }, { label: "Breaker" }, { label: "Faults", numeric: true }]}>
          {props.instances.map((i) => {
            const badge = breakerBadge(props.breakers.get(i.id));
            const faults = props.faults.filter((f) => f.instanceIds.includes(i.id)).length;
            return (
              <tr key={i.id} data-instance={i.id}>
                <th scope="row" data-label="Instance">
                  {i.id}
                </th>
                <td data-label="Service">{i.service}</td>
                <td data-label="Health">{healthBadge(i.state)}</td>
                <td data-label="Breaker" data-breaker={badge.label}>
                  <StatusBadge tone={badge.tone} label={badge.label} />
                </td>
                <td data-label="Faults" class="num">
                  {faults}
                </td>
              </tr>
            );
          })}
        </ResponsiveTable>
      )}
    </section>
  );
}
