import { createRegistry } from "@bufbuild/protobuf";
import { file_mesh_control_v1_breaker } from "../gen/mesh/control/v1/breaker_pb.ts";
import { file_mesh_control_v1_chaos } from "../gen/mesh/control/v1/chaos_pb.ts";
import { file_mesh_control_v1_events } from "../gen/mesh/control/v1/events_pb.ts";
import { file_mesh_control_v1_load_test } from "../gen/mesh/control/v1/load_test_pb.ts";
import { file_mesh_control_v1_overview } from "../gen/mesh/control/v1/overview_pb.ts";
import { file_mesh_control_v1_policy } from "../gen/mesh/control/v1/policy_pb.ts";
import { file_mesh_control_v1_registry } from "../gen/mesh/control/v1/registry_pb.ts";
import { file_mesh_control_v1_scaling } from "../gen/mesh/control/v1/scaling_pb.ts";
import { file_mesh_health_v1_status } from "../gen/mesh/health/v1/status_pb.ts";

/** Every message the CLI prints, so --json can write proto3 JSON. */
export const meshRegistry = createRegistry(
  file_mesh_control_v1_breaker,
  file_mesh_control_v1_chaos,
  file_mesh_control_v1_events,
  file_mesh_control_v1_load_test,
  file_mesh_control_v1_overview,
  file_mesh_control_v1_policy,
  file_mesh_control_v1_registry,
  file_mesh_control_v1_scaling,
  file_mesh_health_v1_status,
);
