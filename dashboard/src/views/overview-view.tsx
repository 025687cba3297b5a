import { Code, createClient } from "@connectrpc/connect";
import { useMemo, useState } from "preact/hooks";
import type { InstanceBreaker } from "../../../gen/mesh/control/v1/breaker_pb.ts";
import { OverviewService, type ServiceSummary, type SystemOverview } from "../../../gen/mesh/control/v1/overview_pb.ts";
import { RegistryService, type Instance } from "../../../gen/mesh/control/v1/registry_pb.ts";
import { breakerFeed } from "../breakers/breaker-feed.ts";
import { breakerBadge, worstBreakerState } from "../breakers/breaker-states.ts";
import { combineGolden, goldenOf, instanceTone, servingBadge, type Golden } from "../overview/instance-health.ts";
import { applyRegistryEvent, emptyRegistry, instancesByService, type RegistryState } from "../overview/registry-state.ts";
import type { StreamStatus } from "../streams/reconnect-loop.ts";
import { useStream } from "../streams/use-stream.ts";
import { EmptyState } from "../ui/empty-state.tsx";
import { ErrorState } from "../ui/error-state.tsx";
import { durationMs, formatMs, formatPercent, formatRate } from "../ui/format.ts";
import { StatusBadge } from "../ui/status-badge.tsx";
import { StreamStatusBadge } from "../ui/stream-status-badge.tsx";
import { systemHealthBadge } from "../ui/system-health.ts";
import type { ViewProps } from "../view-props.ts";
import { ScalingPanel } from "./scaling-panel.tsx";

/** A failed stream, with what to do about it. */
function StreamProblem(props: { status: StreamStatus; what: string }) {
  const { status } = props;
  if (status.kind !== "failed") return null;
  const hint =
    status.error.code === Code.PermissionDenied
      ? "Your token lacks the role this needs: sign in with a token that has it."
      : "Check that the control plane is running and reachable from the gateway, then reload the page.";
  return (
    <ErrorState title={`The ${props.what} stopped`} message={status.error.rawMessage}>
      <p>{hint}</p>
    </ErrorState>
  );
}

function Figures(props: { overview: SystemOverview }) {
  const o = props.overview;
  const health = systemHealthBadge(o.health);
  const healthy = o.services.reduce((n, s) => n + s.healthyInstances, 0);
  return (
    <dl class="figures" aria-label="Mesh figures">
      <div class="figure">
        <dt>Active services</dt>
        <dd>{o.activeServices}</dd>
      </div>
      <div class="figure">
        <dt>Requests / min</dt>
        <dd>{formatRate(o.requestsPerMinute)}</dd>
      </div>
      <div class="figure">
        <dt>Average response time</dt>
        <dd>{formatMs(durationMs(o.averageResponseTime))}</dd>
      </div>
      <div class="figure">
        <dt>Error rate</dt>
        <dd>{formatPercent(o.errorRate)}</dd>
      </div>
      <div class="figure">
        <dt>Health</dt>
        <dd>
          <StatusBadge tone={health.tone} label={health.label} />
        </dd>
      </div>
      <div class="figure">
        <dt>Instances healthy</dt>
        <dd>
          {healthy} / {o.activeInstances}
        </dd>
      </div>
    </dl>
  );
}

/** Golden metrics; `latencies: false` where the source has none (the overview's per-service figures). */
function GoldenList(props: { golden: Golden | undefined; label: string; latencies?: boolean }) {
  const g = props.golden;
  if (!g) return <p class="hint">No calls reported yet.</p>;
  return (
    <dl class="metrics" aria-label={props.label}>
      <div>
        <dt>RPS</dt>
        <dd>{formatRate(g.rps)}</dd>
      </div>
      <div>
        <dt>Success</dt>
        <dd>{g.requests === 0 && g.rps === 0 ? "–" : formatPercent(g.successRate)}</dd>
      </div>
      {props.latencies !== false && (
        <>
          <div>
            <dt>p50</dt>
            <dd>{formatMs(g.p50)}</dd>
          </div>
          <div>
            <dt>p95</dt>
            <dd>{formatMs(g.p95)}</dd>
          </div>
          <div>
            <dt>p99</dt>
            <dd>{formatMs(g.p99)}</dd>
          </div>
        </>
      )}
    </dl>
  );
}

function InstanceCard(props: { instance: Instance; breakers: readonly InstanceBreaker[]; now: number }) {
  const { instance, breakers } = props;
  const serving = servingBadge(instance, props.now);
  const breakerState = worstBreakerState(breakers);
  const breaker = breakerBadge(breakerState);
  const tone = instanceTone(serving, breaker);
  return (
    <li class="instance" data-instance-id={instance.id} data-tone={tone} data-serving={serving.label} data-breaker={breaker.label}>
      <h4>{instance.id}</h4>
      <div class="badges">
        <StatusBadge tone={serving.tone} label={serving.label} />
        <StatusBadge tone={breaker.tone} label={breaker.label} title={breakers.map((b) => `${b.gatewayId}: ${b.consecutiveFailures} failures in a row`).join("\n")} />
      </div>
      <p class="hint mono">
        {instance.address}
        {instance.version && ` · v${instance.version}`}
      </p>
      <GoldenList golden={combineGolden(breakers)} label={`Golden metrics of ${instance.id}`} />
    </li>
  );
}

function ServiceCard(props: {
  view: ViewProps;
  service: string;
  instances: Instance[];
  summary: ServiceSummary | undefined;
  breakers: readonly InstanceBreaker[];
  now: number;
}) {
  const { service, summary } = props;
  const health = summary ? systemHealthBadge(summary.health) : undefined;
  return (
    <section class="service-card" aria-labelledby={`service-${service}`} data-service={service}>
      <header>
        <h3 id={`service-${service}`}>{service}</h3>
        {health && <StatusBadge tone={health.tone} label={health.label} />}
        <span class="hint">
          {summary ? `${summary.healthyInstances} of ${summary.instances} serving` : `${props.instances.length} instances`}
        </span>
      </header>
      {summary && (
        <div class="service-metrics">
          <GoldenList golden={goldenOf(summary.metrics)} label={`Golden metrics of ${service}`} latencies={false} />
        </div>
      )}
      <p class="topology-connector" aria-hidden="true">
        ↓ instances
      </p>
      <ul class="instances" aria-label={`Instances of ${service}`}>
        {props.instances.map((instance) => (
          <InstanceCard key={instance.id} instance={instance} breakers={props.breakers.filter((b) => b.instanceId === instance.id)} now={props.now} />
        ))}
      </ul>
      <div class="service-scaling">
        <ScalingPanel {...props.view} service={service} />
      </div>
    </section>
  );
}

/** The mesh at a glance: the seeds' figures, then gateway → services → instances with health, breakers and golden metrics. */
export function OverviewView(props: ViewProps) {
  const { transport } = props;
  const overviewClient = useMemo(() => createClient(OverviewService, transport), [transport]);
  const registryClient = useMemo(() => createClient(RegistryService, transport), [transport]);
  const overview = useStream((signal) => overviewClient.watchOverview({}, { signal }), [overviewClient]);

  const [registry, setRegistry] = useState<RegistryState>(emptyRegistry);
  const registryStream = useStream(
    // A reconnect asks for a fresh snapshot: the page holds nothing worth resuming from.
    (signal) => registryClient.watchInstances({}, { signal }),
    [registryClient],
    (event) => setRegistry((state) => applyRegistryEvent(state, event)),
  );
  const breakers = useStream(useMemo(() => breakerFeed(transport), [transport]), [transport]);

  const summaries = new Map((overview.latest?.overview?.services ?? []).map((s) => [s.service, s]));
  const groups = instancesByService(registry);
  const gateways = [...new Set((breakers.latest ?? []).map((b) => b.gatewayId))].sort();
  const now = Date.now();

  return (
    <div class="overview">
      <section class="panel" aria-labelledby="figures-title">
        <div class="panel-title">
          <h3 id="figures-title">The mesh now</h3>
          <StreamStatusBadge status={overview.status} what="overview" />
        </div>
        <StreamProblem status={overview.status} what="overview stream" />
        {overview.latest?.overview ? (
          <Figures overview={overview.latest.overview} />
        ) : (
          overview.status.kind !== "failed" && <p role="status">Waiting for the first overview from the control plane…</p>
        )}
      </section>

      <section class="panel" aria-labelledby="topology-title">
        <div class="panel-title">
          <h3 id="topology-title">Topology</h3>
          <span class="badges-row">
            <StreamStatusBadge status={registryStream.status} what="registry" />
            <StreamStatusBadge status={breakers.status} what="breakers" />
          </span>
        </div>
        <StreamProblem status={registryStream.status} what="registry stream" />
        <StreamProblem status={breakers.status} what="breaker stream" />
        <p class="topology-gateway">
          <StatusBadge tone={gateways.length > 0 ? "ok" : "unknown"} label="gateway" />
          <span>{gateways.length > 0 ? gateways.join(", ") : "no gateway has reported breakers yet"}</span>
        </p>
        <p class="topology-connector" aria-hidden="true">
          ↓ routes to
        </p>
        {groups.length === 0 && registryStream.status.kind === "live" ? (
          <EmptyState title="No instances registered">
            <p>Start backends (<code>npm start</code> does) or scale a service up; they appear here as they register.</p>
          </EmptyState>
        ) : (
          <div class="topology">
            {groups.map(([service, instances]) => (
              <ServiceCard key={service} view={props} service={service} instances={instances} summary={summaries.get(service)} breakers={breakers.latest ?? []} now={now} />
            ))}
          </div>
        )}
      </section>
    </div>
  );
}
