import { useEffect, useState } from "preact/hooks";
import { formatRelative } from "./format.ts";

/** A `<time>` that says how long ago `ms` was, redrawn every few seconds, with the exact time on hover. */
export function RelativeTime(props: { ms: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 5000);
    return () => clearInterval(timer);
  }, []);
  const date = new Date(props.ms);
  return (
    <time dateTime={date.toISOString()} title={date.toLocaleString()}>
      {formatRelative(props.ms, now)}
    </time>
  );
}
