import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescService, MessageShape } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.ts";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { answerReflectionRequest } from "./answer-reflection-request.ts";
import { createReflectionIndex } from "./reflection-index.ts";
import type { ReflectionIndex } from "./reflection-index.ts";

export interface ReflectionOptions {
  /**
   * Services to describe besides those on the router, such as the upstream services a proxy
   * forwards to. Default none.
   */
  extraServices?: readonly DescService[];
}

/**
 * Adds gRPC server reflection (grpc.reflection.v1 and v1alpha) to a router, so that grpcurl,
 * `buf curl` and Postman can list and call its services without the .proto files.
 *
 * Reflection describes every service on the router, itself included. The service list is read from
 * `router.handlers` when a reflection stream starts, so services registered after this call are
 * described too; calling it last is still the clearest order.
 */
export function registerReflection(router: ConnectRouter, options: ReflectionOptions = {}): void {
  const currentIndex = createIndexCache(router, options.extraServices ?? []);
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      const index = currentIndex();
      for await (const request of requests) yield answerReflectionRequest(index, request);
    },
  });
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      const index = currentIndex();
      for await (const request of requests) {
        // v1alpha is v1 under another package name: the same fields with the same numbers.
        const v1Request = convert(v1alpha.ServerReflectionRequestSchema, v1.ServerReflectionRequestSchema, request);
        const v1Response = answerReflectionRequest(index, v1Request);
        yield convert(v1.ServerReflectionResponseSchema, v1alpha.ServerReflectionResponseSchema, v1Response);
      }
    },
  });
}

/** Rebuilds the index only when handlers were added since the last stream. */
function createIndexCache(router: ConnectRouter, extraServices: readonly DescService[]): () => ReflectionIndex {
  let cached: { handlerCount: number; index: ReflectionIndex } | undefined;
  return () => {
    const handlerCount = router.handlers.length;
    if (cached?.handlerCount !== handlerCount) {
      const services = new Map<string, DescService>();
      for (const service of extraServices) services.set(service.typeName, service);
      for (const handler of router.handlers) services.set(handler.service.typeName, handler.service);
      cached = { handlerCount, index: createReflectionIndex(services.values()) };
    }
    return cached.index;
  };
}

function convert<From extends DescMessage, To extends DescMessage>(
  from: From,
  to: To,
  message: MessageShape<From>,
): MessageShape<To> {
  return fromBinary(to, toBinary(from, message));
}
