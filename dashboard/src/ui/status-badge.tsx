export type Tone = "ok" | "degraded" | "failing" | "unknown";

/** A status as words and a tone. */
export interface Badge {
  tone: Tone;
  label: string;
}

/**
 * A status in an Okabe–Ito colour with its text label and a shape per tone (dot, diamond, square), so it
 * never depends on colour alone.
 */
export function StatusBadge(props: { tone: Tone; label: string; title?: string }) {
  return (
    <span class={`badge badge-${props.tone}`} data-tone={props.tone} title={props.title}>
      {props.label}
    </span>
  );
}
