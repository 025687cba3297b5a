import type { ComponentChildren } from "preact";

/** The attributes a control in a FormField takes: its id and the links to its hint and error. */
export interface ControlAttributes {
  id: string;
  "aria-describedby"?: string;
  "aria-invalid"?: "true";
}

/**
 * A labelled control with its hint and error, wired for assistive technology: the error is announced and
 * linked to the control with aria-describedby.
 */
export function FormField(props: {
  id: string;
  label: string;
  hint?: string | undefined;
  error?: string | undefined;
  children: (control: ControlAttributes) => ComponentChildren;
}) {
  const described = [props.hint ? `${props.id}-hint` : "", props.error ? `${props.id}-error` : ""].filter(Boolean).join(" ");
  const control: ControlAttributes = { id: props.id };
  if (described) control["aria-describedby"] = described;
  if (props.error) control["aria-invalid"] = "true";
  return (
    <div class="form-field">
      <label for={props.id}>{props.label}</label>
      {props.children(control)}
      {props.hint && (
        <span id={`${props.id}-hint`} class="hint">
          {props.hint}
        </span>
      )}
      {props.error && (
        <span id={`${props.id}-error`} class="form-error">
          {props.error}
        </span>
      )}
    </div>
  );
}
