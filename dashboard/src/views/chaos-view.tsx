import { createClient } from "@connectrpc/connect";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ChaosService, type ActiveFault, type InjectFaultRequest } from "../../../gen/mesh/control/v1/chaos_pb.ts";
import { EventService, EventType } from "../../../gen/mesh/control/v1/events_pb.ts";
import { RegistryService, type Instance } from "../../../gen/mesh/control/v1/registry_pb.ts";
import { breakerFeed } from "../breakers/breaker-feed.ts";
import { breakerStateByInstance } from "../breakers/breaker-states.ts";
import { ActiveFaultsPanel } from "../chaos/active-faults-panel.tsx";
import { ChaosTargetsPanel } from "../chaos/chaos-targets-panel.tsx";
import { createCoalescedRefresh } from "../chaos/coalesced-refresh.ts";
import { FaultFormPanel } from "../chaos/fault-form-panel.tsx";
import { applyRegistryEvent, targetsOf } from "../chaos/registry-instances.ts";
import { useNow } from "../chaos/use-now.ts";
import "../chaos/action-forms.css";
import { useStream } from "../streams/use-stream.ts";
import { describeError } from "../ui/field-violations.ts";
import type { ViewProps } from "../view-props.ts";

/** Events after which the list of active faults may have changed. */
const faultEvents = [EventType.FAULT_INJECTED, EventType.FAULT_CLEARED, EventType.FAULT_EXPIRED, EventType.INSTANCE_UP, EventType.SCALED];

/**
 * Chaos: inject any fault kind on an instance or a whole service, see the active faults count down, clear
 * one or all, and watch the instances' health and breakers react. ChaosService has no stream, so the fault
 * list is re-read after each action and on fault events from EventService.WatchEvents, never on a timer.
 */
export function ChaosView(props: ViewProps) {
  const { transport, canAct } = props;
  const clients = useMemo(
    () => ({
      chaos: createClient(ChaosService, transport),
      registry: createClient(RegistryService, transport),
      events: createClient(EventService, transport),
    }),
    [transport],
  );

  const [instances, setInstances] = useState<ReadonlyMap<string, Instance>>(new Map());
  const registry = useStream((signal) => clients.registry.watchInstances({}, { signal }), [clients], (event) =>
    setInstances((prev) => applyRegistryEvent(prev, event)),
  );
  const breakers = useStream(useMemo(() => breakerFeed(transport), [transport]), [transport]);
  const breakerStates = useMemo(() => breakerStateByInstance(breakers.latest ?? []), [breakers.latest]);

  const [faults, setFaults] = useState<ActiveFault[] | undefined>(undefined);
  const [loadError, setLoadError] = useState<string | undefined>(undefined);
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);
  const refresh = useMemo(
    () =>
      createCoalescedRefresh(async () => {
        try {
          const res = await clients.chaos.listFaults({});
          if (!mounted.current) return;
          setFaults(res.faults);
          setLoadError(undefined);
        } catch (err) {
          if (mounted.current) setLoadError(describeError(err));
        }
      }),
    [clients],
  );
  const events = useStream((signal) => clients.events.watchEvents({ types: faultEvents }, { signal }), [clients], () => void refresh());
  // Each time the event stream (re)connects, events may have been missed: read the list once.
  useEffect(() => {
    if (events.status.kind === "live" || events.status.kind === "failed") void refresh();
  }, [events.status.kind, refresh]);
  useEffect(() => void refresh(), [refresh]);

  const now = useNow(1000, (faults?.length ?? 0) > 0);

  const inject = useCallback(
    async (request: InjectFaultRequest) => {
      try {
        const res = await clients.chaos.injectFault(request);
        return res.fault;
      } finally {
        void refresh();
      }
    },
    [clients, refresh],
  );

  const [clearing, setClearing] = useState<ReadonlySet<string>>(new Set());
  const [actionError, setActionError] = useState<string | undefined>(undefined);
  const clear = useCallback(
    async (ids: readonly string[]) => {
      setActionError(undefined);
      setClearing((prev) => new Set([...prev, ...ids]));
      const results = await Promise.allSettled(ids.map((id) => clients.chaos.clearFault({ id })));
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      if (mounted.current) {
        setClearing((prev) => new Set([...prev].filter((id) => !ids.includes(id))));
        if (failed.length > 0) setActionError(`Could not clear ${failed.length === 1 ? "a fault" : `${failed.length} faults`}: ${describeError(failed[0]!.reason)}`);
      }
      await refresh();
    },
    [clients, refresh],
  );

  const targets = targetsOf(instances);
  return (
    <div class="action-view">
      <p class="hint">
        Faults run on the backends' fault hooks and end on their own. Watch the breakers below, or the Overview and Traffic views, react.
      </p>
      <div class="action-grid">
        <FaultFormPanel instances={targets.instances} services={targets.services} canAct={canAct} inject={inject} />
        <div>
          <ActiveFaultsPanel
            faults={faults}
            loadError={loadError}
            now={now}
            canAct={canAct}
            clearing={clearing}
            clear={(id) => void clear([id])}
            clearAll={() => void clear((faults ?? []).map((f) => f.id))}
            actionError={actionError}
          />
          <ChaosTargetsPanel
            instances={targets.instances}
            registryStatus={registry.status}
            breakers={breakerStates}
            breakerStatus={breakers.status}
            faults={faults ?? []}
          />
        </div>
      </div>
    </div>
  );
}
