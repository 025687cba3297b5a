import type { ComponentChildren } from "preact";

/** Something failed: what, and what the reader can do about it. */
export function ErrorState(props: { title: string; message?: string; children?: ComponentChildren }) {
  return (
    <div class="state-box state-error" role="alert">
      <h3>{props.title}</h3>
      {props.message !== undefined && <p class="mono">{props.message}</p>}
      {props.children}
    </div>
  );
}
