import { hostname, userInfo } from "node:os";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BreakerService } from "../gen/mesh/control/v1/breaker_pb.ts";
import { ChaosService } from "../gen/mesh/control/v1/chaos_pb.ts";
import { EventService } from "../gen/mesh/control/v1/events_pb.ts";
import { LoadTestService } from "../gen/mesh/control/v1/load_test_pb.ts";
import { OverviewService } from "../gen/mesh/control/v1/overview_pb.ts";
import { PolicyService } from "../gen/mesh/control/v1/policy_pb.ts";
import { RegistryService } from "../gen/mesh/control/v1/registry_pb.ts";
import { ScalingService } from "../gen/mesh/control/v1/scaling_pb.ts";
import { StatusService } from "../gen/mesh/health/v1/status_pb.ts";
import { createServiceCredentialInterceptor, type ServiceCredential } from "../lib/auth/service-credential.ts";
import type { CliOutput } from "./cli-output.ts";

export interface CliContext {
  readonly controlUrl: string;
  readonly out: CliOutput;
  readonly registry: Client<typeof RegistryService>;
  readonly overview: Client<typeof OverviewService>;
  readonly chaos: Client<typeof ChaosService>;
  readonly policies: Client<typeof PolicyService>;
  readonly events: Client<typeof EventService>;
  readonly breakers: Client<typeof BreakerService>;
  readonly loadTests: Client<typeof LoadTestService>;
  readonly scaling: Client<typeof ScalingService>;
  /** The status service of one instance, by its address. */
  status(address: string): Client<typeof StatusService>;
}

/** Names the operator in control's event log (`x-actor`): who scaled, injected or isolated what. */
function declareActor(): Interceptor {
  let name: string;
  try {
    name = `${userInfo().username}@${hostname()} (mesh cli)`;
  } catch {
    name = `${hostname()} (mesh cli)`;
  }
  return (next) => (req) => {
    req.header.set("x-actor", name);
    return next(req);
  };
}

/** Generated clients for the control plane (gRPC over one HTTP/2 connection) and for instances. */
export function createCliContext(controlUrl: string, out: CliOutput, credential?: ServiceCredential): CliContext {
  const interceptors = [declareActor(), ...(credential === undefined ? [] : [createServiceCredentialInterceptor(credential)])];
  const transport = createGrpcTransport({ baseUrl: controlUrl, defaultTimeoutMs: 10_000, interceptors });
  return {
    controlUrl,
    out,
    registry: createClient(RegistryService, transport),
    overview: createClient(OverviewService, transport),
    chaos: createClient(ChaosService, transport),
    policies: createClient(PolicyService, transport),
    events: createClient(EventService, transport),
    breakers: createClient(BreakerService, transport),
    loadTests: createClient(LoadTestService, transport),
    scaling: createClient(ScalingService, transport),
    status: (address) => createClient(StatusService, createGrpcTransport({ baseUrl: address, defaultTimeoutMs: 2000 })),
  };
}
