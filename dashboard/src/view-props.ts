import type { Transport } from "@connectrpc/connect";

/** What the gateway tells the page at `GET /dashboard/config.json`. */
export interface DashboardConfig {
  /** Whether the gateway checks JWTs: the page then asks for a token. */
  authRequired: boolean;
  /** Jaeger's UI, such as http://localhost:16686, when configured. */
  jaegerUrl?: string;
}

/** What every view gets from the shell. */
export interface ViewProps {
  /** Connect transport to the gateway that served the page, carrying the caller's bearer token. */
  transport: Transport;
  /** Whether the caller may act (chaos, scaling, policy, load tests): the admin role, or auth off. */
  canAct: boolean;
  config: DashboardConfig;
}
