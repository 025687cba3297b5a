import { Code, ConnectError } from "@connectrpc/connect";
import { useState } from "preact/hooks";
import type { LoadTest, StartLoadTestRequest } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import { backendServices } from "../../../lib/mesh-services.ts";
import { describeError, fieldViolations, type FieldViolation } from "../chaos/field-violations.ts";
import { FormField } from "../chaos/form-field.tsx";
import {
  defaultLoadTestForm,
  formFieldOfViolation,
  httpMethods,
  parseLoadTestForm,
  type LoadTestForm,
  type LoadTestFormErrors,
  type LoadTestFormField,
} from "./load-test-form.ts";

/** The unary RPCs of the backends, offered as targets. */
const suggestedMethods = backendServices.flatMap((s) => s.methods.filter((m) => m.methodKind === "unary").map((m) => `${s.typeName}/${m.name}`));

type Refusal = { message: string; violations: FieldViolation[]; conflict: boolean };

/** The start form: target (RPC or HTTP route), concurrency, rate, duration, name. */
export function LoadTestFormPanel(props: { canAct: boolean; start: (request: StartLoadTestRequest) => Promise<LoadTest | undefined> }) {
  const [form, setForm] = useState<LoadTestForm>(defaultLoadTestForm);
  const [errors, setErrors] = useState<LoadTestFormErrors>({});
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<Refusal | undefined>(undefined);

  const set = (field: LoadTestFormField) => (event: Event) => {
    const value = (event.currentTarget as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;
    setForm((f) => ({ ...f, [field]: value }));
    setErrors((e) => ({ ...e, [field]: undefined }));
  };

  async function submit(event: Event) {
    event.preventDefault();
    setRefusal(undefined);
    const parsed = parseLoadTestForm(form);
    if (!parsed.ok) {
      setErrors(parsed.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      await props.start(parsed.request);
    } catch (err) {
      const error = ConnectError.from(err);
      const violations = error.code === Code.InvalidArgument ? fieldViolations(error) : [];
      const byField: LoadTestFormErrors = {};
      for (const v of violations) {
        const field = formFieldOfViolation(v.field);
        if (field !== undefined && byField[field] === undefined) byField[field] = `${v.field} ${v.reason} (server)`;
      }
      setErrors(byField);
      setRefusal({ message: describeError(error), violations, conflict: error.code === Code.FailedPrecondition || error.code === Code.AlreadyExists });
    } finally {
      setBusy(false);
    }
  }

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
      {!props.canAct && (
        <p class="role-note" id="load-role-note">
          Starting and stopping load tests needs the <strong>admin</strong> role. Sign in with an admin token to use these controls.
        </p>
      )}
      <fieldset disabled={!props.canAct || busy} aria-describedby={props.canAct ? undefined : "load-role-note"}>
        <fieldset>
          <legend>Target</legend>
          <div class="choice-row" role="radiogroup" aria-label="Target kind">
            <label>
              <input type="radio" name="load-target-kind" checked={form.targetKind === "rpc"} onChange={() => setForm((f) => ({ ...f, targetKind: "rpc" }))} />
              RPC
            </label>
            <label>
              <input type="radio" name="load-target-kind" checked={form.targetKind === "http"} onChange={() => setForm((f) => ({ ...f, targetKind: "http" }))} />
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
              <input type="checkbox" checked={form.force} onChange={(e) => setForm((f) => ({ ...f, force: (e.currentTarget as HTMLInputElement).checked }))} />
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
        <div class="form-alert" role="alert">
          <strong>The control plane refused the test:</strong> {refusal.violations.length === 0 && refusal.message}
          {refusal.violations.length > 0 && (
            <ul>
              {refusal.violations.map((v) => (
                <li key={v.field}>
                  <code>{v.field}</code> {v.reason}
                </li>
              ))}
            </ul>
          )}
          {refusal.conflict && <p>Tick “Start even if another test runs against this target” to run it anyway.</p>}
        </div>
      )}
    </form>
  );
}
