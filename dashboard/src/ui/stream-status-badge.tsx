import type { StreamStatus } from "../streams/reconnect-loop.ts";
import { StatusBadge } from "./status-badge.tsx";

/** The state of a live stream: live, connecting, reconnecting (with the reason) or failed. */
export function StreamStatusBadge(props: { status: StreamStatus; what?: string }) {
  const { status } = props;
  const what = props.what ? `${props.what}: ` : "";
  switch (status.kind) {
    case "live":
      return <StatusBadge tone="ok" label={`${what}live`} />;
    case "connecting":
      return <StatusBadge tone="unknown" label={`${what}connecting…`} />;
    case "retrying":
      return <StatusBadge tone="degraded" label={`${what}reconnecting`} title={status.error.rawMessage} />;
    case "failed":
      return <StatusBadge tone="failing" label={`${what}stopped`} title={status.error.rawMessage} />;
  }
}
