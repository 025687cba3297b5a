import { InvalidArgumentError, type Command } from "commander";
import { ProcessStateSchema } from "../../gen/mesh/control/v1/scaling_pb.ts";
import type { CliContext } from "../cli-context.ts";
import { fmt } from "../format-values.ts";

/** `mesh scale SERVICE N`. */
export function registerScaleCommand(program: Command, context: () => CliContext): void {
  program
    .command("scale")
    .description("run N instances of a service (local mesh only)")
    .argument("<service>", "the service, e.g. backend")
    .argument("<replicas>", "instances wanted, 0 to 16", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 16) throw new InvalidArgumentError("expected a whole number from 0 to 16");
      return n;
    })
    .action(async (service: string, replicas: number) => {
      const ctx = context();
      const { scale } = await ctx.scaling.scaleService({ service, replicas });
      if (ctx.out.json) return ctx.out.data(scale);
      ctx.out.table(
        ["instance", "state", "pid", "restarts", "address"],
        (scale?.instances ?? []).map((i) => [i.instanceId, fmt.enumName(ProcessStateSchema.value[i.state]?.name, "PROCESS_STATE"), String(i.pid), String(i.restarts), i.address]),
      );
    });
}
