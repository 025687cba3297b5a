import type { ActiveFault, InjectFaultRequest } from "../../../gen/mesh/control/v1/chaos_pb.ts";
import type { Instance } from "../../../gen/mesh/control/v1/registry_pb.ts";
import { FormField } from "../ui/form-field.tsx";
import { RefusalAlert } from "../ui/refusal-alert.tsx";
import { RoleNote } from "../ui/role-note.tsx";
import { useActionForm } from "../ui/use-action-form.ts";
import { describeFault, describeTarget } from "./describe-fault.ts";
import { defaultFaultForm, errorCodeNames, faultKindLabels, faultKinds, formFieldOfViolation, parseFaultForm, type FaultForm, type FaultFormField } from "./fault-form.ts";

/** The inject form: target, kind, the kind's parameters, duration and method filter. */
export function FaultFormPanel(props: {
  instances: readonly Instance[];
  services: readonly string[];
  canAct: boolean;
  inject: (request: InjectFaultRequest) => Promise<ActiveFault | undefined>;
}) {
  const { form, errors, busy, outcome, update, set, submit } = useActionForm({
    initial: defaultFaultForm,
    parse: parseFaultForm,
    fieldOfViolation: formFieldOfViolation,
    perform: async (request: InjectFaultRequest) => {
      const fault = await props.inject(request);
      return `Injected ${describeFault(fault?.fault)} on ${describeTarget(fault?.target)}.`;
    },
  });
  const setTargetKind = (targetKind: FaultForm["targetKind"]) => update({ targetKind, target: "" }, "target");

  const number = (field: FaultFormField, label: string, attrs: { min?: number; max?: number; step?: string; hint?: string } = {}) => (
    <FormField id={`fault-${field}`} label={label} hint={attrs.hint} error={errors[field]}>
      {(control) => (
        <input {...control} type="number" inputMode="decimal" min={attrs.min} max={attrs.max} step={attrs.step ?? "any"} value={form[field]} onInput={set(field)} />
      )}
    </FormField>
  );

  const available = form.targetKind === "instance" ? props.instances.length : props.services.length;

  return (
    <form class="panel action-form" onSubmit={submit} aria-labelledby="inject-title" noValidate>
      <h3 id="inject-title">Inject a fault</h3>
      {!props.canAct && <RoleNote id="chaos-role-note" doing="Injecting and clearing faults" />}
      <fieldset disabled={!props.canAct || busy} aria-describedby={props.canAct ? undefined : "chaos-role-note"}>
        <fieldset>
        <legend>Target and fault</legend>
        <div class="choice-row" role="radiogroup" aria-label="Target kind">
          <label>
            <input type="radio" name="fault-target-kind" checked={form.targetKind === "instance"} onChange={() => setTargetKind("instance")} />
            One instance
          </label>
          <label>
            <input type="radio" name="fault-target-kind" checked={form.targetKind === "service"} onChange={() => setTargetKind("service")} />
            Every instance of a service
          </label>
        </div>
        <div class="form-fields">
          <FormField id="fault-target" label={form.targetKind === "instance" ? "Instance" : "Service"} error={errors.target}>
            {(control) => (
              <select {...control} value={form.target} onChange={set("target")}>
                <option value="">{available === 0 ? "None registered" : "Choose…"}</option>
                {form.targetKind === "instance"
                  ? props.instances.map((i) => (
                      <option key={i.id} value={i.id} title={`${i.id} of ${i.service}`}>
                        {i.id}
                      </option>
                    ))
                  : props.services.map((service) => (
                      <option key={service} value={service}>
                        {service}
                      </option>
                    ))}
              </select>
            )}
          </FormField>
          <FormField id="fault-kind" label="Fault">
            {(control) => (
              <select {...control} value={form.kind} onChange={set("kind")}>
                {faultKinds.map((k) => (
                  <option key={k} value={k}>
                    {faultKindLabels[k]}
                  </option>
                ))}
              </select>
            )}
          </FormField>
          {number("durationSeconds", "Duration (s)", { min: 1, max: 86_400, hint: "1 s to 24 h" })}
        </div>
        </fieldset>
        <fieldset>
        <legend>Parameters</legend>
        <div class="form-fields">
          {form.kind === "errorRate" && (
            <>
              {number("errorRatePercent", "Calls failing (%)", { min: 0, max: 100 })}
              <FormField id="fault-errorCode" label="Status code" error={errors.errorCode}>
                {(control) => (
                  <select {...control} value={form.errorCode} onChange={set("errorCode")}>
                    {errorCodeNames.map((name) => (
                      <option key={name} value={name}>
                        {name}
                      </option>
                    ))}
                  </select>
                )}
              </FormField>
            </>
          )}
          {form.kind === "latency" && (
            <>
              {number("latencyMs", "Delay (ms)", { min: 1, max: 60_000 })}
              {number("jitterMs", "Jitter (ms)", { min: 0, max: 60_000, hint: "random extra, up to" })}
              {number("affectedPercent", "Calls delayed (%)", { min: 0, max: 100 })}
            </>
          )}
          {form.kind === "hang" && number("affectedPercent", "Calls hanging (%)", { min: 0, max: 100, hint: "until their deadline" })}
          {form.kind === "crash" && (
            <>
              {number("crashDelaySeconds", "Exit after (s)", { min: 0, max: 3600 })}
              {number("crashExitCode", "Exit code", { min: 1, max: 255, step: "1" })}
            </>
          )}
          {(form.kind === "database" || form.kind === "cache") && (
            <>
              {number("dependencyFailurePercent", `${form.kind === "database" ? "Queries" : "Commands"} failing (%)`, { min: 0, max: 100 })}
              {number("dependencyLatencyMs", "Added latency (ms)", { min: 0, max: 60_000 })}
            </>
          )}
          {form.kind === "memoryPressure" && (
            <>
              {number("memoryMbPerSecond", "Growth (MB/s)", { min: 1, max: 100, step: "1" })}
              {number("memoryMaxMb", "Bound (MB)", { min: 1, max: 1024, step: "1" })}
            </>
          )}
          <div class="form-field wide">
            <FormField
              id="fault-methods"
              label="Only these methods (optional)"
              hint="package.Service or package.Service/Method, separated by commas; empty means every call"
              error={errors.methods}
            >
              {(control) => <input {...control} type="text" placeholder="mesh.data.v1.DataService/ListItems" value={form.methods} onInput={set("methods")} />}
            </FormField>
          </div>
        </div>
        </fieldset>
        <div class="form-actions">
          <button type="submit" class="primary">
            {busy ? "Injecting…" : "Inject fault"}
          </button>
        </div>
      </fieldset>
      {outcome?.kind === "done" && (
        <p class="notice" role="status">
          {outcome.text}
        </p>
      )}
      {outcome?.kind === "refused" && <RefusalAlert what="the fault" message={outcome.message} violations={outcome.violations} />}
    </form>
  );
}
