import { Code } from "@connectrpc/connect";
import type { LoadTest, StartLoadTestRequest } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import { backendServices } from "../../../lib/mesh-services.ts";
import { FormField } from "../ui/form-field.tsx";
import { RefusalAlert } from "../ui/refusal-alert.tsx";
import { RoleNote } from "../ui/role-note.tsx";
import { useActionForm } from "../ui/use-action-form.ts";
import { defaultLoadTestForm, formFieldOfViolation, httpMethods, parseLoadTestForm, type LoadTestFormField } from "./load-test-form.ts";

/** The unary RPCs of the backends, offered as targets. */
const suggestedMethods = backendServices.flatMap((s) => s.methods.filter((m) => m.methodKind === "unary").map((m) => `${s.typeName}/${m.name}`));

/** The start form: target (RPC or HTTP route), concurrency, rate, duration, name. */
export function LoadTestFormPanel(props: { canAct: boolean; start: (request: StartLoadTestRequest) => Promise<LoadTest | undefined> }) {
  const { form, errors, busy, outcome, update, set, submit } = useActionForm({
    initial: defaultLoadTestForm,
    parse: parseLoadTestForm,
    fieldOfViolation: formFieldOfViolation,
    perform: async (request: StartLoadTestRequest) => {
      await props.start(request);
      return undefined;
    },
  });
  const refusal = outcome?.kind === "refused" ? outcome : undefined;
  const conflict = refusal?.code === Code.FailedPrecondition || refusal?.code === Code.AlreadyExists;

  const text = (field: LoadTestFormField, label: string, attrs: { hint?: string; type?: "text" | "number"; min?: number; max?: number; placeholder?: string; list?: string } = {}) => (
    <FormField id={`load-${field}`} label={label} hint={attrs.hint} error={errors[field]}>
      {(control) => (
        <input
          {...control}
          type={attrs.type ?? "text"}
          inputMode={attrs.type === "number" ? "decimal" : undefined}
          step={attrs.type === "number" ? "any" : undefined}
          min={attrs.min}
          max={attrs.max}
          list={attrs.list}
          placeholder={attrs.placeholder}
          value={form[field]}
          onInput={set(field)}
        />
      )}
    </FormField>
  );

  return (
    <form class="panel action-form" onSubmit={submit} aria-labelledby="start-load-title" noValidate>
      <h3 id="start-load-title">Start a load test</h3>
      {!props.canAct && <RoleNote id="load-role-note" doing="Starting and stopping load tests" />}
      <fieldset disabled={!props.canAct || busy} aria-describedby={props.canAct ? undefined : "load-role-note"}>
        <fieldset>
          <legend>Target</legend>
          <div class="choice-row" role="radiogroup" aria-label="Target kind">
            <label>
              <input type="radio" name="load-target-kind" checked={form.targetKind === "rpc"} onChange={() => update({ targetKind: "rpc" })} />
              RPC
            </label>
            <label>
              <input type="radio" name="load-target-kind" checked={form.targetKind === "http"} onChange={() => update({ targetKind: "http" })} />
              HTTP route
            </label>
          </div>
          <div class="form-fields">
            {form.targetKind === "rpc" ? (
              <>
                <div class="form-field wide">{text("rpcMethod", "Method", { hint: "package.Service/Method, a unary RPC of the mesh", list: "load-methods" })}</div>
                <datalist id="load-methods">
                  {suggestedMethods.map((m) => (
                    <option key={m} value={m} />
                  ))}
                </datalist>
                <div class="form-field wide">
                  <FormField id="load-rpcRequest" label="Request (JSON)" error={errors.rpcRequest}>
                    {(control) => <textarea {...control} rows={2} class="mono" value={form.rpcRequest} onInput={set("rpcRequest")} />}
                  </FormField>
                </div>
              </>
            ) : (
              <>
                <FormField id="load-httpMethod" label="HTTP method" error={errors.httpMethod}>
                  {(control) => (
                    <select {...control} value={form.httpMethod} onChange={set("httpMethod")}>
                      {httpMethods.map((m) => (
                        <option key={m} value={m}>
                          {m}
                        </option>
                      ))}
                    </select>
                  )}
                </FormField>
                {text("httpPath", "Path on the gateway", { placeholder: "/v1/items" })}
                <div class="form-field wide">
                  <FormField id="load-httpBody" label="Body (JSON, optional)" error={errors.httpBody}>
                    {(control) => <textarea {...control} rows={2} class="mono" value={form.httpBody} onInput={set("httpBody")} />}
                  </FormField>
                </div>
              </>
            )}
          </div>
        </fieldset>
        <fieldset>
          <legend>Load</legend>
          <div class="form-fields">
            {text("concurrency", "Concurrency", { type: "number", min: 1, max: 1000, hint: "in flight at most, 1 to 1,000" })}
            {text("requestsPerSecond", "Rate (req/s)", { type: "number", min: 0, max: 50_000, hint: "up to 50,000" })}
            {text("durationSeconds", "Duration (s)", { type: "number", min: 1, max: 3600, hint: "1 s to 1 h" })}
            {text("name", "Name (optional)", { placeholder: "to find the run again" })}
          </div>
          <div class="choice-row">
            <label>
              <input type="checkbox" checked={form.force} onChange={(e) => update({ force: (e.currentTarget as HTMLInputElement).checked })} />
              Start even if another test runs against this target
            </label>
          </div>
        </fieldset>
        <div class="form-actions">
          <button type="submit" class="primary">
            {busy ? "Starting…" : "Start load test"}
          </button>
        </div>
      </fieldset>
      {refusal && (
        <RefusalAlert what="the test" message={refusal.message} violations={refusal.violations}>
          {conflict && <p>Tick “Start even if another test runs against this target” to run it anyway.</p>}
        </RefusalAlert>
      )}
    </form>
  );
}
