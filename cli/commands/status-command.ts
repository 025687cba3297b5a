import type { Command } from "commander";
import { ServingStateSchema } from "../../gen/mesh/control/v1/registry_pb.ts";
import { SystemHealthSchema } from "../../gen/mesh/control/v1/overview_pb.ts";
import { OverallStatusSchema, type GetStatusResponse } from "../../gen/mesh/health/v1/status_pb.ts";
import type { CliContext } from "../cli-context.ts";
import { fmt } from "../format-values.ts";

/** `mesh status`: services, instances, health and live figures in one table. */
export function registerStatusCommand(program: Command, context: () => CliContext): void {
  program
    .command("status")
    .description("show services, instances, health, breakers and golden metrics")
    .action(async () => {
      const ctx = context();
      const [{ instances }, { overview }] = await Promise.all([ctx.registry.listInstances({}), ctx.overview.getOverview({})]);
      const statuses = await Promise.all(
        instances.map((i) => ctx.status(i.address).getStatus({}).catch((): GetStatusResponse | undefined => undefined)),
      );
      const breakers = await ctx.breakers.listBreakers({}).then(
        (r) => r.breakers,
        () => undefined,
      );
      if (ctx.out.json) {
        ctx.out.data({ overview, instances: instances.map((instance, i) => ({ instance, status: statuses[i] })), breakers });
        return;
      }
      const health = fmt.enumName(SystemHealthSchema.value[overview?.health ?? 0]?.name, "SYSTEM_HEALTH");
      const paintHealth = (text: string) =>
        ctx.out.paint(text === "healthy" || text === "serving" || text === "operational" ? "green" : text === "degraded" ? "yellow" : "red", text);
      ctx.out.line(
        `mesh ${paintHealth(health)} · ${overview?.activeServices ?? 0} active services · ${overview?.activeInstances ?? 0} instances · ` +
          `${fmt.rate(overview?.requestsPerMinute ?? 0)} req/min · ${fmt.percent(overview?.errorRate ?? 0)} errors · ${fmt.ms(overview?.averageResponseTime)} avg`,
      );
      ctx.out.table(
        ["service", "instance", "address", "health", "status", "breaker", "req/min", "errors", "avg", "faults"],
        instances.map((instance, i) => {
          const s = statuses[i];
          const breaker = breakers?.filter((b) => b.instanceId === instance.id).map((b) => String(b.state)).join(",") || (breakers ? "closed" : "n/a");
          return [
            instance.service,
            instance.id,
            instance.address,
            paintHealth(fmt.enumName(ServingStateSchema.value[instance.state]?.name, "SERVING_STATE")),
            s ? paintHealth(fmt.enumName(OverallStatusSchema.value[s.status]?.name, "OVERALL_STATUS")) : ctx.out.paint("red", "unreachable"),
            breaker,
            s ? fmt.rate(s.traffic?.requestsPerMinute ?? 0) : "-",
            s ? fmt.percent(s.traffic?.errorRate ?? 0) : "-",
            s ? fmt.ms(s.traffic?.averageResponseTime) : "-",
            s ? String(s.activeFaults.length) : "-",
          ];
        }),
      );
    });
}
