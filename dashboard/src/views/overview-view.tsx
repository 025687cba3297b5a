import type { ViewProps } from "../view-props.ts";
import { EmptyState } from "../ui/empty-state.tsx";

export function OverviewView(_props: ViewProps) {
  return <EmptyState title="Coming soon">This view is being built.</EmptyState>;
}
