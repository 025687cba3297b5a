import type { DescService } from "@bufbuild/protobuf";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";
import { FaultService } from "../gen/mesh/chaos/v1/fault_pb.ts";
import { BreakerService } from "../gen/mesh/control/v1/breaker_pb.ts";
import { ChaosService } from "../gen/mesh/control/v1/chaos_pb.ts";
import { EventService } from "../gen/mesh/control/v1/events_pb.ts";
import { LoadTestService } from "../gen/mesh/control/v1/load_test_pb.ts";
import { OverviewService } from "../gen/mesh/control/v1/overview_pb.ts";
import { PolicyService } from "../gen/mesh/control/v1/policy_pb.ts";
import { RegistryService } from "../gen/mesh/control/v1/registry_pb.ts";
import { ScalingService } from "../gen/mesh/control/v1/scaling_pb.ts";
import { TrafficService } from "../gen/mesh/control/v1/traffic_pb.ts";
import { DataService } from "../gen/mesh/data/v1/data_pb.ts";
import { StatusService } from "../gen/mesh/health/v1/status_pb.ts";
import { QueueService } from "../gen/mesh/queue/v1/queue_pb.ts";

/** Services the backends serve, balanced across instances by the gateway. */
export const backendServices: readonly DescService[] = [DataService, QueueService];

/** Services the control plane serves, reachable through the gateway. */
export const controlServices: readonly DescService[] = [
  RegistryService,
  PolicyService,
  BreakerService,
  ChaosService,
  LoadTestService,
  ScalingService,
  OverviewService,
  EventService,
  TrafficService,
];

/** Every RPC service of the mesh, the per-instance ones (status, health, fault hooks) included. */
export const meshServices: readonly DescService[] = [...backendServices, StatusService, Health, FaultService, ...controlServices];
