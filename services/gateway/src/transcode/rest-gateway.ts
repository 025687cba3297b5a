import { createRegistry, type DescFile, type DescMethod, type DescService, type FileRegistry } from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import { file_google_rpc_error_details } from "../../../../gen/google/rpc/error_details_pb.ts";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import type { GatewayConfig } from "../config.ts";
import type { HttpRequest } from "../../../../lib/server/http-exchange.ts";
import { createCommentIndex } from "./comments.ts";
import { createOpenApiDocument } from "./openapi.ts";
import { createRouteTable } from "./route-table.ts";
import { createTranscoder } from "./transcoder.ts";

export interface RestGatewayOptions {
  /** The services REST routes lead to. */
  services: readonly DescService[];
  /** The transport for one call to `service` (balanced and resilient); undefined when none serves it. */
  transportFor(service: DescService): Transport | undefined;
  /** Refuses callers who may not call a method (see TranscoderOptions.authorize). */
  authorize?: (req: HttpRequest, method: DescMethod) => void;
  /** Largest request body: the smaller of this and TRANSCODE_MAX_BODY_BYTES applies. */
  maxBodyBytes?: number;
  /** Services whose procedure paths belong to the RPC protocols (see TranscoderOptions.isRpcService). */
  rpcServices: ReadonlySet<string>;
  /** Descriptor sets whose types may appear in google.protobuf.Any and error details. */
  descriptorSets: readonly FileRegistry[];
  /** Descriptor sets with source info, for the descriptions of /openapi.json. */
  commentSets: readonly FileRegistry[];
  config: Pick<
    GatewayConfig,
    | "MESH_VERSION"
    | "TRANSCODE_UNKNOWN_QUERY_PARAMS"
    | "TRANSCODE_UNKNOWN_JSON_FIELDS"
    | "TRANSCODE_MAX_BODY_BYTES"
    | "TRANSCODE_DEFAULT_TIMEOUT_MS"
    | "TRANSCODE_MAX_TIMEOUT_MS"
    | "TRANSCODE_EMIT_DEFAULTS"
  >;
  logger: Logger;
}

/** Every file `files` need, each once, for a registry that resolves Any and error details. */
function withDependencies(files: Iterable<DescFile>): DescFile[] {
  const all = new Map<string, DescFile>();
  const add = (file: DescFile) => {
    if (all.has(file.proto.name)) return;
    all.set(file.proto.name, file);
    file.dependencies.forEach(add);
  };
  for (const file of files) add(file);
  return [...all.values()];
}

/**
 * The gateway's REST side, as an `httpHandlers` entry: the route table of the services' `google.api.http`
 * rules (throws RouteTableError listing conflicts), calls through the transports the gateway gives (the
 * balanced, resilient path shared with the pass-through), and `/openapi.json` from the same table.
 */
export function createRestGateway(options: RestGatewayOptions) {
  const { config, logger } = options;
  const routes = createRouteTable(options.services);
  for (const warning of routes.warnings) logger.warn(warning);
  const registry = createRegistry(
    ...withDependencies([...options.services.map((s) => s.file), file_google_rpc_error_details]),
    ...options.descriptorSets,
  );
  const comments = createCommentIndex(options.commentSets.flatMap((set) => [...set.files].map((f) => f.proto)));
  logger.info({ routes: routes.routes.length }, "REST routes ready");
  return createTranscoder({
    routes,
    registry,
    logger,
    transportFor: (service) => options.transportFor(service),
    authorize: options.authorize,
    isRpcService: (name) => options.rpcServices.has(name),
    maxBodyBytes: Math.min(config.TRANSCODE_MAX_BODY_BYTES, options.maxBodyBytes ?? Infinity),
    unknownQueryParams: config.TRANSCODE_UNKNOWN_QUERY_PARAMS,
    unknownJsonFields: config.TRANSCODE_UNKNOWN_JSON_FIELDS,
    deadline: { defaultMs: config.TRANSCODE_DEFAULT_TIMEOUT_MS, maxMs: config.TRANSCODE_MAX_TIMEOUT_MS },
    emitDefaults: config.TRANSCODE_EMIT_DEFAULTS,
    openApi: () => createOpenApiDocument(routes.routes, { title: "connect-mesh gateway", version: config.MESH_VERSION, comments }),
  });
}
