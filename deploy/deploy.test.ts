// Offline checks of the deployment files (no Docker engine or cluster here): they parse, and what the mesh
// relies on is in them. A real `docker compose config` or schema validator would go further.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { serviceNodeFlags } from "../lib/server/service-node-flags.ts";

const root = join(import.meta.dirname, "..");
const read = (path: string) => readFileSync(join(root, path), "utf8");

type Service = { build?: string; image?: string; healthcheck?: { test: string[] }; depends_on?: Record<string, { condition: string }>; environment?: Record<string, string>; command?: string[] };

describe("docker-compose.yml", () => {
  const compose = parse(read("docker-compose.yml"), { merge: true }) as { services: Record<string, Service> };
  // `.ci/run` also runs `docker compose config` (or Debian's docker-compose) on it.
  const services = compose.services;

  it("runs the whole stack", () => {
    expect(Object.keys(services).sort()).toEqual(["backend-1", "backend-2", "control", "gateway", "grafana", "jaeger", "postgres", "prometheus", "valkey"]);
  });

  it("gives every mesh service a gRPC health check, its settings, and waits for what it needs", () => {
    for (const name of ["control", "backend-1", "backend-2", "gateway"]) {
      const s = services[name]!;
      expect(s.healthcheck?.test, name).toEqual(["CMD", "node", "scripts/healthcheck.ts"]);
      expect(s.command?.at(-1), name).toMatch(/^services\/(control|backend|gateway)\/src\/main\.ts$/);
      for (const dependency of Object.keys(s.depends_on ?? {})) expect(services[dependency], `${name} → ${dependency}`).toBeDefined();
    }
    for (const name of ["backend-1", "backend-2"]) {
      expect(Object.keys(services[name]!.environment ?? {})).toEqual(expect.arrayContaining(["DATABASE_URL", "REDIS_URL", "CONTROL_URL", "ADVERTISE_URL", "ERROR_RATE"]));
    }
    expect(services.control!.environment?.ORCHESTRATOR).toBe("compose");
    expect(services.gateway!.depends_on?.["backend-1"]?.condition).toBe("service_healthy");
  });
});

describe("Dockerfile", () => {
  it("runs every service with the flags npm start gives it", () => {
    const dockerfile = read("Dockerfile");
    const nodeOptions = /^ENV NODE_OPTIONS="([^"]*)"/m.exec(dockerfile)?.[1]?.split(" ") ?? [];
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? "[]") as string[];
    expect(entrypoint[0]).toBe("node");
    // The compile cache's preload is the image's NODE_COMPILE_CACHE; every other flag is in one of the two.
    const flags = serviceNodeFlags.filter((flag, i) => flag !== "--import" && serviceNodeFlags[i - 1] !== "--import");
    expect(flags.length).toBeGreaterThan(0);
    for (const flag of flags) expect([...nodeOptions, ...entrypoint.slice(1)], flag).toContain(flag);
    expect(dockerfile).toMatch(/NODE_COMPILE_CACHE=/);
  });
});

describe("Kubernetes manifests", () => {
  const docs = parseAllDocuments(read("deploy/k8s/connect-mesh.yaml")).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec?: any });

  it("parse, with the kinds a production rollout needs", () => {
    const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        "Namespace/connect-mesh",
        "Secret/connect-mesh",
        "ConfigMap/connect-mesh",
        "Deployment/control",
        "Deployment/backend",
        "Deployment/gateway",
        "Service/gateway",
        "PodDisruptionBudget/backend",
        "PodDisruptionBudget/gateway",
        "HorizontalPodAutoscaler/backend",
        "HorizontalPodAutoscaler/gateway",
      ]),
    );
  });

  it("probes every Deployment over grpc.health.v1", () => {
    for (const d of docs.filter((d) => d.kind === "Deployment")) {
      const container = d.spec.template.spec.containers[0];
      expect(container.readinessProbe.grpc.port, d.metadata.name).toBeGreaterThan(0);
      expect(container.livenessProbe.grpc.port, d.metadata.name).toBe(container.readinessProbe.grpc.port);
    }
  });
});

describe("Prometheus and Grafana", () => {
  it("alert rules carry the seeds' thresholds", () => {
    const rules = (parse(read("deploy/prometheus/alerts.yml")) as { groups: Array<{ rules: Array<{ alert: string; expr: string; for: string }> }> }).groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining(["HighErrorRate", "ServiceDown", "HighResponseTime", "DatabaseConnectionLost", "CacheMissRateHigh", "QueueOverflow"]),
    );
    for (const r of rules) expect(r.expr.trim().length, r.alert).toBeGreaterThan(0);
    expect(rules.find((r) => r.alert === "HighErrorRate")?.expr).toContain("> 0.10");
  });

  it("the dashboard parses and queries only metrics the mesh exports", () => {
    const dashboard = JSON.parse(read("deploy/grafana/dashboards/mesh.json")) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const exported = [
      "rpc_server_requests_total", "rpc_server_duration_seconds_bucket", "gateway_request_duration_seconds_bucket", "gateway_breaker_state",
      "gateway_retries_total", "gateway_retry_budget_exhausted_total", "cache_hits_total", "cache_misses_total", "queue_size",
      "active_connections", "gateway_balancer_picks_total",
    ];
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const names = expr.match(/[a-z_]+(?=\{|\[)/g) ?? [];
        for (const name of names) expect(exported, expr).toContain(name);
      }
    }
  });
});
