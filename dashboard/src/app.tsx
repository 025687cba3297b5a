import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { useEffect, useMemo, useState } from "preact/hooks";
import { OverviewService } from "../../gen/mesh/control/v1/overview_pb.ts";
import { createAuthInterceptor } from "./auth/auth-interceptor.ts";
import { canActWith, readTokenClaims, type TokenClaims } from "./auth/jwt-roles.ts";
import { TokenForm } from "./auth/token-form.tsx";
import { tokenStore } from "./auth/token-store.ts";
import { routeOf, routes, type RouteId } from "./routes.ts";
import { useStream } from "./streams/use-stream.ts";
import { ErrorState } from "./ui/error-state.tsx";
import { StatusBadge } from "./ui/status-badge.tsx";
import { StreamStatusBadge } from "./ui/stream-status-badge.tsx";
import { systemHealthBadge } from "./ui/system-health.ts";
import type { DashboardConfig, ViewProps } from "./view-props.ts";
import { ChaosView } from "./views/chaos-view.tsx";
import { EventsView } from "./views/events-view.tsx";
import { LoadTestsView } from "./views/load-tests-view.tsx";
import { OverviewView } from "./views/overview-view.tsx";
import { TrafficView } from "./views/traffic-view.tsx";

const views: Record<RouteId, (props: ViewProps) => preact.JSX.Element | null> = {
  overview: OverviewView,
  traffic: TrafficView,
  chaos: ChaosView,
  "load-tests": LoadTestsView,
  events: EventsView,
};

type ConfigState = { kind: "loading" } | { kind: "failed"; message: string } | { kind: "ready"; config: DashboardConfig };

async function fetchConfig(signal: AbortSignal): Promise<DashboardConfig> {
  const res = await fetch(new URL("config.json", document.baseURI), { signal, cache: "no-store" });
  if (!res.ok) throw new Error(`GET config.json answered HTTP ${res.status}`);
  const body = (await res.json()) as Partial<DashboardConfig>;
  return { authRequired: body.authRequired === true, ...(typeof body.jaegerUrl === "string" ? { jaegerUrl: body.jaegerUrl } : {}) };
}

function useHashRoute(): RouteId {
  const [route, setRoute] = useState(() => routeOf(location.hash));
  useEffect(() => {
    const update = () => setRoute(routeOf(location.hash));
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}

function claimsOf(token: string | undefined): TokenClaims | undefined {
  if (token === undefined) return undefined;
  try {
    return readTokenClaims(token);
  } catch {
    return undefined;
  }
}

/** The mesh's health and whether its live stream is up, in the header. */
function MeshHealth(props: { transport: ViewProps["transport"] }) {
  const client = useMemo(() => createClient(OverviewService, props.transport), [props.transport]);
  const { latest, status } = useStream((signal) => client.watchOverview({ interval: { seconds: 5n, nanos: 0 } }, { signal }), [client]);
  const health = latest?.overview ? systemHealthBadge(latest.overview.health) : undefined;
  return (
    <>
      <StreamStatusBadge status={status} what="connection" />
      {health && <StatusBadge tone={health.tone} label={`mesh ${health.label}`} />}
    </>
  );
}

/** The shell: header, navigation, sign-in when the gateway requires a token, and the current view. */
export function App() {
  const route = useHashRoute();
  const [configState, setConfigState] = useState<ConfigState>({ kind: "loading" });
  const [attempt, setAttempt] = useState(0);
  const [token, setToken] = useState<string | undefined>(() => tokenStore.read());
  const [signInReason, setSignInReason] = useState<string | undefined>(undefined);

  useEffect(() => {
    const controller = new AbortController();
    fetchConfig(controller.signal)
      .then((config) => setConfigState({ kind: "ready", config }))
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setConfigState({ kind: "failed", message: (err as Error).message });
      });
    return () => controller.abort();
  }, [attempt]);

  const config = configState.kind === "ready" ? configState.config : undefined;
  const claims = claimsOf(token);
  const needsToken = config?.authRequired === true && (token === undefined || signInReason !== undefined);

  const transport = useMemo(
    () =>
      createConnectTransport({
        baseUrl: location.origin,
        interceptors: [
          createAuthInterceptor(
            () => token,
            () => {
              tokenStore.clear();
              setSignInReason("The gateway refused the token (it may have expired). Sign in again.");
            },
          ),
        ],
      }),
    [token],
  );

  function signIn(next: string) {
    tokenStore.write(next);
    setToken(next);
    setSignInReason(undefined);
  }
  function signOut() {
    tokenStore.clear();
    setToken(undefined);
    setSignInReason(undefined);
  }

  const current = routes.find((r) => r.id === route)!;
  useEffect(() => {
    document.title = `${current.label} · connect-mesh dashboard`;
  }, [current]);

  const View = views[route];
  let body;
  if (configState.kind === "loading") {
    body = <p role="status">Loading the dashboard's settings…</p>;
  } else if (configState.kind === "failed") {
    body = (
      <ErrorState title="Could not load the dashboard's settings" message={configState.message}>
        <p>Check that the gateway is running and serves this page, then try again.</p>
        <button type="button" onClick={() => setAttempt((n) => n + 1)}>
          Try again
        </button>
      </ErrorState>
    );
  } else if (needsToken) {
    body = <TokenForm reason={signInReason} onToken={signIn} />;
  } else {
    body = <View transport={transport} canAct={canActWith(configState.config.authRequired, claims)} config={configState.config} />;
  }

  return (
    <>
      <a class="skip-link" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header class="app-header">
        <h1>
          connect-mesh <span class="mesh-name">{location.host}</span>
        </h1>
        <div class="header-status">
          {config && !needsToken && <MeshHealth transport={transport} />}
          {config?.authRequired === false && <StatusBadge tone="unknown" label="auth off" title="The gateway checks no tokens" />}
          {config?.authRequired && token !== undefined && !needsToken && (
            <>
              <span data-testid="signed-in-as">
                {claims?.subject ?? "signed in"} ({canActWith(true, claims) ? "admin" : "read-only"})
              </span>
              <button type="button" onClick={signOut}>
                Sign out
              </button>
            </>
          )}
        </div>
      </header>
      <nav class="app-nav" aria-label="Views">
        <ul>
          {routes.map((r) => (
            <li key={r.id}>
              <a href={`#/${r.id}`} aria-current={r.id === route ? "page" : undefined}>
                {r.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1} aria-labelledby="view-title">
        <h2 id="view-title" class={needsToken ? "visually-hidden" : ""}>{current.label}</h2>
        {body}
      </main>
    </>
  );
}

