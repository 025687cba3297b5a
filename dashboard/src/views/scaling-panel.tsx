import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { EventService, EventType } from "../../../gen/mesh/control/v1/events_pb.ts";
import { ProcessState, ScalingService, type ServiceScale } from "../../../gen/mesh/control/v1/scaling_pb.ts";
import "../chaos/action-forms.css";
import { createCoalescedRefresh } from "../chaos/coalesced-refresh.ts";
import { describeError, fieldViolations } from "../ui/field-violations.ts";
import { useStream } from "../streams/use-stream.ts";
import { StatusBadge, type Tone } from "../ui/status-badge.tsx";
import type { ViewProps } from "../view-props.ts";

/** The server's bound (services/control/src/scaling/scaling-service.ts). */
export const maxReplicas = 16;

/** Reads the replicas field: a whole number from 0 to 16, or a message saying what is wrong. */
export function parseReplicas(text: string): { ok: true; replicas: number } | { ok: false; error: string } {
  const value = Number(text.trim());
  if (text.trim() === "" || !Number.isInteger(value) || value < 0 || value > maxReplicas) {
    return { ok: false, error: `Replicas must be a whole number from 0 to ${maxReplicas}` };
  }
  return { ok: true, replicas: value };
}

const processStates: Record<number, { tone: Tone; label: string }> = {
  [ProcessState.STARTING]: { tone: "degraded", label: "starting" },
  [ProcessState.RUNNING]: { tone: "ok", label: "running" },
  [ProcessState.DRAINING]: { tone: "degraded", label: "draining" },
  [ProcessState.CRASHED]: { tone: "failing", label: "crashed" },
  [ProcessState.STOPPED]: { tone: "unknown", label: "stopped" },
};

/** Events after which a service's scale may have changed. */
const scaleEvents = [EventType.SCALED, EventType.INSTANCE_UP, EventType.INSTANCE_DOWN, EventType.INSTANCE_HEALTH_CHANGED];

/**
 * A service's desired and ready replicas with its supervised processes, and controls to scale it (admin
 * only). ScalingService has no stream: the scale is re-read after an action and on the service's events.
 */
export function ScalingPanel(props: ViewProps & { service: string }) {
  const { transport, canAct, service } = props;
  const clients = useMemo(() => ({ scaling: createClient(ScalingService, transport), events: createClient(EventService, transport) }), [transport]);
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);
  const [scale, setScale] = useState<ServiceScale | undefined>(undefined);
  /** Why the scale cannot be read or changed here: another orchestrator, an unknown service, an outage. */
  const [unavailable, setUnavailable] = useState<{ message: string; final: boolean } | undefined>(undefined);
  const [field, setField] = useState("");
  const [fieldError, setFieldError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | undefined>(undefined);

  const refresh = useMemo(
    () =>
      createCoalescedRefresh(async () => {
        try {
          const res = await clients.scaling.getScale({ service });
          if (!mounted.current) return;
          setScale(res.scale);
          setUnavailable(undefined);
        } catch (err) {
          const error = ConnectError.from(err);
          if (mounted.current) setUnavailable({ message: describeError(error), final: error.code === Code.FailedPrecondition || error.code === Code.NotFound });
        }
      }),
    [clients, service],
  );
  const events = useStream((signal) => clients.events.watchEvents({ types: scaleEvents, service }, { signal }), [clients, service], () => void refresh());
  useEffect(() => {
    if (events.status.kind === "live" || events.status.kind === "failed") void refresh();
  }, [events.status.kind, refresh]);
  useEffect(() => void refresh(), [refresh]);
  // The field follows the desired count until the user types in it.
  const desired = scale?.desiredReplicas;
  useEffect(() => {
    if (desired !== undefined) setField(String(desired));
  }, [desired]);

  async function scaleTo(text: string) {
    const parsed = parseReplicas(text);
    if (!parsed.ok) {
      setFieldError(parsed.error);
      return;
    }
    setFieldError(undefined);
    setActionError(undefined);
    setBusy(true);
    try {
      const res = await clients.scaling.scaleService({ service, replicas: parsed.replicas });
      if (mounted.current && res.scale) setScale(res.scale);
    } catch (err) {
      const error = ConnectError.from(err);
      const violation = error.code === Code.InvalidArgument ? fieldViolations(error)[0] : undefined;
      if (violation) setFieldError(`${violation.field} ${violation.reason} (server)`);
      else setActionError(describeError(error));
    } finally {
      if (mounted.current) setBusy(false);
      void refresh();
    }
  }

  const id = `scale-${service}`;
  const current = scale?.desiredReplicas ?? 0;
  const disabled = !canAct || busy || scale === undefined;
  return (
    <section class="panel scaling-panel" aria-labelledby={`${id}-title`} data-scaling={service}>
      <div class="panel-title">
        <h3 id={`${id}-title`}>Scaling: {service}</h3>
        {scale && (
          <StatusBadge
            tone={scale.readyReplicas >= scale.desiredReplicas ? "ok" : scale.readyReplicas === 0 && scale.desiredReplicas > 0 ? "failing" : "degraded"}
            label={`${scale.readyReplicas} of ${scale.desiredReplicas} ready`}
          />
        )}
      </div>
      {unavailable && (
        <p class={unavailable.final ? "role-note" : "form-alert"} role={unavailable.final ? "note" : "alert"}>
          {unavailable.final ? unavailable.message : `Could not read the scale: ${unavailable.message}. It is read again on the next change.`}
        </p>
      )}
      {scale === undefined && !unavailable && <p class="hint">Loading…</p>}
      {scale && (
        <>
          <dl class="figures">
            <div class="figure">
              <dt>Desired</dt>
              <dd data-figure="desired">{scale.desiredReplicas}</dd>
            </div>
            <div class="figure">
              <dt>Ready</dt>
              <dd data-figure="ready">{scale.readyReplicas}</dd>
            </div>
          </dl>
          {scale.instances.length > 0 && (
            <ul class="pill-list scaling-instances" aria-label={`Processes of ${service}`}>
              {scale.instances.map((i) => {
                const state = processStates[i.state] ?? { tone: "unknown" as const, label: "unknown" };
                return (
                  <li key={i.instanceId}>
                    <StatusBadge tone={state.tone} label={`${i.instanceId} ${state.label}`} title={i.restarts > 0 ? `${i.restarts} restarts` : undefined} />
                  </li>
                );
              })}
            </ul>
          )}
        </>
      )}
      {!canAct && <p class="role-note">Scaling needs the <strong>admin</strong> role.</p>}
      {!unavailable?.final && (
        <form
          class="action-form scaling-controls"
          onSubmit={(e) => {
            e.preventDefault();
            void scaleTo(field);
          }}
        >
          <fieldset disabled={disabled} class="form-actions">
            <legend class="visually-hidden">Scale {service}</legend>
            <button type="button" aria-label={`Remove an instance of ${service}`} disabled={current <= 0} onClick={() => void scaleTo(String(current - 1))}>
              −
            </button>
            <label for={`${id}-replicas`} class="visually-hidden">
              Replicas
            </label>
            <input
              id={`${id}-replicas`}
              type="number"
              min={0}
              max={maxReplicas}
              step={1}
              inputMode="numeric"
              size={3}
              style={{ width: "5rem" }}
              value={field}
              aria-invalid={fieldError ? "true" : undefined}
              aria-describedby={fieldError ? `${id}-error` : undefined}
              onInput={(e) => {
                setField((e.currentTarget as HTMLInputElement).value);
                setFieldError(undefined);
              }}
            />
            <button type="button" aria-label={`Add an instance of ${service}`} disabled={current >= maxReplicas} onClick={() => void scaleTo(String(current + 1))}>
              +
            </button>
            <button type="submit" class="primary">
              {busy ? "Scaling…" : "Scale"}
            </button>
          </fieldset>
        </form>
      )}
      {fieldError && (
        <p id={`${id}-error`} class="form-error">
          {fieldError}
        </p>
      )}
      {actionError && (
        <p class="form-alert" role="alert">
          {actionError}
        </p>
      )}
    </section>
  );
}
