import { Code, ConnectError } from "@connectrpc/connect";
import { useState } from "preact/hooks";
import { describeError, errorsByFormField, fieldViolations, type FieldViolation } from "./field-violations.ts";

/** A form parsed into a request, or a message per bad field. */
export type ParsedForm<Request, Field extends string> = { ok: true; request: Request } | { ok: false; errors: Partial<Record<Field, string>> };

/** How the last submit ended: a notice to show, or the server's refusal. */
export type ActionOutcome = { kind: "done"; text: string } | { kind: "refused"; code: Code; message: string; violations: FieldViolation[] } | undefined;

/**
 * The state of a form that asks the control plane to act: the fields as typed, a message per bad field
 * (from `parse` before sending, or from the server's InvalidArgument field violations after), whether the
 * request is in flight, and how the last one ended. `perform` sends the request; the text it returns, if
 * any, is shown as the outcome.
 */
export function useActionForm<Form, Field extends keyof Form & string, Request>(options: {
  initial: Form;
  parse: (form: Form) => ParsedForm<Request, Field>;
  fieldOfViolation: (path: string) => Field | undefined;
  perform: (request: Request) => Promise<string | undefined>;
}) {
  const [form, setForm] = useState<Form>(options.initial);
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<ActionOutcome>(undefined);

  /** Sets fields, clearing the messages of the fields named in `clears`. */
  const update = (patch: Partial<Form>, ...clears: Field[]) => {
    setForm((f) => ({ ...f, ...patch }));
    if (clears.length > 0) setErrors((e) => ({ ...e, ...Object.fromEntries(clears.map((c) => [c, undefined])) }));
  };
  /** An input or select's change handler for a text field. */
  const set = (field: Field) => (event: Event) => {
    const value = (event.currentTarget as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;
    update({ [field]: value } as Partial<Form>, field);
  };

  async function submit(event: Event) {
    event.preventDefault();
    setOutcome(undefined);
    const parsed = options.parse(form);
    if (!parsed.ok) {
      setErrors(parsed.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const text = await options.perform(parsed.request);
      if (text !== undefined) setOutcome({ kind: "done", text });
    } catch (err) {
      const error = ConnectError.from(err);
      const violations = error.code === Code.InvalidArgument ? fieldViolations(error) : [];
      setErrors(errorsByFormField(violations, options.fieldOfViolation));
      setOutcome({ kind: "refused", code: error.code, message: describeError(error), violations });
    } finally {
      setBusy(false);
    }
  }

  return { form, errors, busy, outcome, update, set, submit };
}
