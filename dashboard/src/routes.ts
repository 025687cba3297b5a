/** The dashboard's views, in navigation order, with their hash routes (`#/overview`). */
export const routes = [
  { id: "overview", label: "Overview" },
  { id: "traffic", label: "Traffic" },
  { id: "chaos", label: "Chaos" },
  { id: "load-tests", label: "Load tests" },
  { id: "events", label: "Events" },
] as const;

export type RouteId = (typeof routes)[number]["id"];

/** The view a location hash names; the overview for an empty or unknown one. */
export function routeOf(hash: string): RouteId {
  const id = hash.replace(/^#\/?/, "").split(/[/?]/)[0] ?? "";
  return routes.find((r) => r.id === id)?.id ?? "overview";
}
