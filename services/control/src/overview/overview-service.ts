import { durationMs } from "@bufbuild/protobuf/wkt";
import type { Client, ServiceImpl } from "@connectrpc/connect";
import { OverviewService, type SystemOverview } from "../../../../gen/mesh/control/v1/overview_pb.ts";
import type { GetStatusResponse, StatusService } from "../../../../gen/mesh/health/v1/status_pb.ts";
import { invalidArgument } from "../../../../lib/errors/connect-errors.ts";
import type { RegistryState } from "../registry/registry-state.ts";
import { summarizeOverview } from "./summarize-overview.ts";
import { pause } from "../../../../lib/async/pause.ts";

export interface OverviewDeps {
  registry: RegistryState;
  status: (address: string) => Client<typeof StatusService>;
  now?: () => number;
  stop?: AbortSignal;
  /** Per-instance status timeout. @default 1000 */
  timeoutMs?: number;
}

/** Reads every instance's live status (in parallel, bounded by a timeout) and summarizes the mesh. */
export async function readOverview(deps: OverviewDeps, signal: AbortSignal): Promise<SystemOverview> {
  const instances = deps.registry.list();
  const statuses = new Map<string, GetStatusResponse>();
  await Promise.all(
    instances.map(async (instance) => {
      try {
        statuses.set(instance.id, await deps.status(instance.address).getStatus({}, { signal, timeoutMs: deps.timeoutMs ?? 1000 }));
      } catch {
        // An instance that does not answer contributes no traffic; its registry state says it is out.
      }
    }),
  );
  return summarizeOverview(instances, statuses, (deps.now ?? Date.now)());
}

/** mesh.control.v1.OverviewService. */
export function createOverviewService(deps: OverviewDeps): ServiceImpl<typeof OverviewService> {
  return {
    getOverview: async (_req, ctx) => ({ overview: await readOverview(deps, ctx.signal) }),
    async *watchOverview(req, ctx) {
      const intervalMs = req.interval === undefined ? 2000 : durationMs(req.interval);
      if (!Number.isFinite(intervalMs) || intervalMs < 1000 || intervalMs > 3_600_000) throw invalidArgument("interval", "must be between 1s and 3600s");
      const signal = deps.stop ? AbortSignal.any([ctx.signal, deps.stop]) : ctx.signal;
      while (!signal.aborted) {
        yield { overview: await readOverview(deps, signal) };
        await pause(intervalMs, signal);
      }
    },
  };
}
