import { useState } from "preact/hooks";
import { readTokenClaims } from "./jwt-roles.ts";

/** Asks for a bearer token; `reason` says why it is asked again (refused or expired). */
export function TokenForm(props: { reason?: string; onToken: (token: string) => void }) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  function submit(event: Event) {
    event.preventDefault();
    const token = text.trim();
    try {
      const claims = readTokenClaims(token);
      if (claims.expiresAt !== undefined && claims.expiresAt < Date.now()) throw new Error("this token has expired: get a new one");
      props.onToken(token);
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <form class="panel token-form" onSubmit={submit} aria-labelledby="token-form-title">
      <h2 id="token-form-title">Sign in</h2>
      <p>This gateway requires a token. Paste a JWT it accepts; it stays in this tab only (session storage).</p>
      {props.reason && (
        <p class="form-error" role="alert">
          {props.reason}
        </p>
      )}
      <label for="token-input">Bearer token (JWT)</label>
      <textarea
        id="token-input"
        name="token"
        autocomplete="off"
        spellcheck={false}
        required
        aria-describedby="token-hint token-error"
        aria-invalid={error !== undefined}
        value={text}
        onInput={(e) => {
          setText((e.target as HTMLTextAreaElement).value);
          setError(undefined);
        }}
      />
      <p id="token-hint" class="hint">
        <code>npm start</code> prints an admin and a user token. Admin can inject faults, scale and run load tests;
        user can watch.
      </p>
      <p id="token-error" class="form-error" aria-live="polite">
        {error}
      </p>
      <div class="actions">
        <button type="submit" class="primary">
          Sign in
        </button>
      </div>
    </form>
  );
}
