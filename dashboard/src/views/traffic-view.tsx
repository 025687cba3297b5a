import type { ViewProps } from "../view-props.ts";
import { EmptyState } from "../ui/empty-state.tsx";

/** Placeholder until its owner's view lands: replace this file freely. */
export function TrafficView(_props: ViewProps) {
  return <EmptyState title="Coming soon">This view is being built.</EmptyState>;
}
