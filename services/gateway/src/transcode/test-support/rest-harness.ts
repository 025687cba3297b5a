import { createRegistry, type DescMethod, type DescService, type Message, type Registry } from "@bufbuild/protobuf";
import { createRouterTransport, type HandlerContext, type Transport } from "@connectrpc/connect";
import { file_google_rpc_error_details } from "../../../../../gen/google/rpc/error_details_pb.ts";
import { createLogger } from "../../../../../lib/logging/create-logger.ts";
import { createMeshServer, type MeshServer } from "../../../../../lib/server/mesh-server.ts";
import { createRouteTable, type RouteTable } from "../route-table.ts";
import { createTranscoder, type TranscoderOptions } from "../transcoder.ts";

/** What the upstream received for one call. */
export interface UpstreamCall {
  readonly method: DescMethod;
  readonly request: Message;
  readonly headers: Headers;
  readonly timeoutMs: number | undefined;
}

/** Answers a call: a message, a stream of them, or a throw. */
export type Responder = (method: DescMethod, request: Message, ctx: HandlerContext) => Promise<Message> | Message | AsyncIterable<Message>;

export interface RestHarness {
  readonly url: string;
  readonly routes: RouteTable;
  readonly registry: Registry;
  /** Calls received by the in-memory upstream, oldest first. */
  readonly calls: UpstreamCall[];
  /** Sets how the upstream answers from now on. */
  respond(responder: Responder): void;
  close(): Promise<void>;
}

const silent = createLogger({ service: "test", instance: "test", level: "silent" });

/**
 * A mesh server on loopback whose only handler is the transcoder, in front of an in-memory upstream (a
 * Connect router transport) that records every request. By default the upstream answers with an empty
 * response message.
 */
export async function startRestHarness(
  services: readonly DescService[],
  options: Partial<Omit<TranscoderOptions, "routes" | "registry" | "logger">> = {},
): Promise<RestHarness> {
  const calls: UpstreamCall[] = [];
  let responder: Responder = () => undefined as unknown as Message;
  const transport: Transport = createRouterTransport((router) => {
    for (const service of services) {
      const impl: Record<string, unknown> = {};
      for (const method of service.methods) {
        const record = (request: Message, ctx: HandlerContext) =>
          calls.push({ method, request, headers: ctx.requestHeader, timeoutMs: ctx.timeoutMs() });
        if (method.methodKind === "server_streaming") {
          impl[method.localName] = async function* (request: Message, ctx: HandlerContext) {
            record(request, ctx);
            const result = responder(method, request, ctx);
            yield* result as AsyncIterable<Message>;
          };
        } else {
          impl[method.localName] = async (request: Message, ctx: HandlerContext) => {
            record(request, ctx);
            return (await responder(method, request, ctx)) ?? {};
          };
        }
      }
      router.service(service, impl as never);
    }
  });
  const files = new Set(services.map((s) => s.file));
  const registry = createRegistry(...files, file_google_rpc_error_details, ...[...files].flatMap((f) => f.dependencies));
  const routes = createRouteTable(services);
  const server: MeshServer = createMeshServer({
    logger: silent,
    routes() {},
    httpHandlers: [
      createTranscoder({ routes, registry, logger: silent, transportFor: () => transport, isRpcService: () => false, ...options }),
    ],
  });
  await server.listen();
  return {
    url: server.url,
    routes,
    registry,
    calls,
    respond(next) {
      responder = next;
    },
    close: async () => {
      await server.close(1000);
    },
  };
}
