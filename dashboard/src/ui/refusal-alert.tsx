import type { ComponentChildren } from "preact";
import type { FieldViolation } from "./field-violations.ts";

/** Why the control plane refused an action: its field violations as a list, else its message. */
export function RefusalAlert(props: { what: string; message: string; violations: readonly FieldViolation[]; children?: ComponentChildren }) {
  return (
    <div class="form-alert" role="alert">
      <strong>The control plane refused {props.what}:</strong> {props.violations.length === 0 && props.message}
      {props.violations.length > 0 && (
        <ul>
          {props.violations.map((v) => (
            <li key={v.field}>
              <code>{v.field}</code> {v.reason}
            </li>
          ))}
        </ul>
      )}
      {props.children}
    </div>
  );
}
