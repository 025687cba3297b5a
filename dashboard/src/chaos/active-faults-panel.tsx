import { timestampMs } from "../ui/format.ts";
import { EmptyState } from "../ui/empty-state.tsx";
import { ErrorState } from "../ui/error-state.tsx";
import { actionsColumn, ResponsiveTable } from "../ui/responsive-table.tsx";
import type { ActiveFault } from "../../../gen/mesh/control/v1/chaos_pb.ts";
import { formatCountdown } from "./countdown.ts";
import { describeFault, describeTarget } from "./describe-fault.ts";

/** Active faults with a live countdown, and buttons to clear one or all. */
export function ActiveFaultsPanel(props: {
  faults: readonly ActiveFault[] | undefined;
  loadError: string | undefined;
  now: number;
  canAct: boolean;
  clearing: ReadonlySet<string>;
  clear: (id: string) => void;
  clearAll: () => void;
  actionError: string | undefined;
}) {
  const { faults, now } = props;
  // A fault whose time is up leaves the list at once; the expiry event then refreshes it from control.
  const live = faults?.filter((f) => (timestampMs(f.fault?.expireTime) ?? Infinity) > now) ?? [];
  return (
    <section class="panel" aria-labelledby="active-faults-title">
      <div class="panel-title">
        <h3 id="active-faults-title">Active faults {faults !== undefined && <span class="hint">({live.length})</span>}</h3>
        {live.length > 0 && (
          <button type="button" class="danger" disabled={!props.canAct} onClick={props.clearAll}>
            Clear all
          </button>
        )}
      </div>
      {props.actionError && (
        <p class="form-alert" role="alert">
          {props.actionError}
        </p>
      )}
      {props.loadError && (
        <ErrorState title="Could not list the active faults" message={props.loadError}>
          <p>The list refreshes by itself when the control plane answers again.</p>
        </ErrorState>
      )}
      {faults === undefined && !props.loadError && <p class="hint">Loading…</p>}
      {faults !== undefined && live.length === 0 && (
        <EmptyState title="No active faults">
          <p>Inject one with the form; it ends on its own when its duration is up.</p>
        </EmptyState>
      )}
      {live.length > 0 && (
        <ResponsiveTable columns={[{ label: "Fault" }, { label: "Target" }, { label: "Active on" }, { label: "Ends in" }, actionsColumn]}>
          {live.map((f) => {
            const methods = f.fault?.methods ?? [];
            return (
              <tr key={f.id} data-fault-id={f.id}>
                <td data-label="Fault">
                  {describeFault(f.fault)}
                  {methods.length > 0 && <div class="hint">only {methods.join(", ")}</div>}
                </td>
                <td data-label="Target">{describeTarget(f.target)}</td>
                <td data-label="Active on">{f.instanceIds.join(", ") || "–"}</td>
                <td data-label="Ends in">
                  <span class="countdown" role="timer">
                    {formatCountdown(timestampMs(f.fault?.expireTime) ?? now, now)}
                  </span>
                </td>
                <td class="cell-actions">
                  <button
                    type="button"
                    disabled={!props.canAct || props.clearing.has(f.id)}
                    aria-label={`Clear ${describeFault(f.fault)} on ${describeTarget(f.target)}`}
                    onClick={() => props.clear(f.id)}
                  >
                    {props.clearing.has(f.id) ? "Clearing…" : "Clear"}
                  </button>
                </td>
              </tr>
            );
          })}
        </ResponsiveTable>
      )}
    </section>
  );
}
