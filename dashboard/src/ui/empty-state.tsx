import type { ComponentChildren } from "preact";

/** Nothing to show yet, and what would make something appear. */
export function EmptyState(props: { title: string; children?: ComponentChildren }) {
  return (
    <div class="state-box" role="status">
      <h3>{props.title}</h3>
      {props.children}
    </div>
  );
}
