import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import type { ConnectRouter } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.ts";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { Health } from "../../gen/grpc/health/v1/health_pb.ts";
import { DataService } from "../../gen/mesh/data/v1/data_pb.ts";
import { StatusService } from "../../gen/mesh/health/v1/status_pb.ts";
import { registerReflection } from "./register-reflection.ts";

type Question = MessageInitShape<typeof v1.ServerReflectionRequestSchema>;
type Ask = (questions: Question[]) => Promise<v1.ServerReflectionResponse[]>;

function routes(router: ConnectRouter): void {
  router.service(DataService, {});
  router.service(StatusService, {});
  registerReflection(router);
  // Registered after reflection: still described, because the index is built per stream.
  router.service(Health, {});
}

const transport = createRouterTransport(routes);

async function* stream<T>(items: T[]): AsyncIterable<T> {
  yield* items;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const askV1: Ask = (questions) =>
  collect(createClient(v1.ServerReflection, transport).serverReflectionInfo(stream(questions)));

// The same questions on the wire: v1alpha has v1's fields under another package name.
const askV1alpha: Ask = async (questions) => {
  const alphaQuestions = questions.map((question) =>
    fromBinary(
      v1alpha.ServerReflectionRequestSchema,
      toBinary(v1.ServerReflectionRequestSchema, create(v1.ServerReflectionRequestSchema, question)),
    ),
  );
  const answers = await collect(
    createClient(v1alpha.ServerReflection, transport).serverReflectionInfo(stream(alphaQuestions)),
  );
  return answers.map((answer) =>
    fromBinary(v1.ServerReflectionResponseSchema, toBinary(v1alpha.ServerReflectionResponseSchema, answer)),
  );
};

function fileNames(answer: v1.ServerReflectionResponse | undefined): string[] {
  if (answer?.messageResponse.case !== "fileDescriptorResponse") {
    throw new Error(`expected files, got ${answer?.messageResponse.case}`);
  }
  return answer.messageResponse.value.fileDescriptorProto.map(
    (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
  );
}

describe("registerReflection with extraServices", () => {
  it("describes services served elsewhere, such as a proxy's upstreams", async () => {
    const proxy = createRouterTransport((router) => {
      router.service(Health, {});
      registerReflection(router, { extraServices: [DataService] });
    });
    const answers = await collect(
      createClient(v1.ServerReflection, proxy).serverReflectionInfo(
        stream<Question>([
          { messageRequest: { case: "listServices", value: "" } },
          { messageRequest: { case: "fileContainingSymbol", value: "mesh.data.v1.DataService.GetItem" } },
        ]),
      ),
    );
    expect(answers[0]?.messageResponse).toMatchObject({
      value: {
        service: [
          { name: "grpc.health.v1.Health" },
          { name: "grpc.reflection.v1.ServerReflection" },
          { name: "grpc.reflection.v1alpha.ServerReflection" },
          { name: "mesh.data.v1.DataService" },
        ],
      },
    });
    expect(fileNames(answers[1])[0]).toBe("mesh/data/v1/data.proto");
  });
});

describe.each([
  ["v1", askV1],
  ["v1alpha", askV1alpha],
])("ServerReflectionInfo %s", (_version, ask) => {
  it("lists every service on the router, the reflection services included", async () => {
    const [answer] = await ask([{ host: "h", messageRequest: { case: "listServices", value: "" } }]);
    expect(answer?.validHost).toBe("h");
    expect(answer?.originalRequest?.messageRequest.case).toBe("listServices");
    expect(answer?.messageResponse).toMatchObject({
      case: "listServicesResponse",
      value: {
        service: [
          { name: "grpc.health.v1.Health" },
          { name: "grpc.reflection.v1.ServerReflection" },
          { name: "grpc.reflection.v1alpha.ServerReflection" },
          { name: "mesh.data.v1.DataService" },
          { name: "mesh.health.v1.StatusService" },
        ],
      },
    });
  });

  it.each([
    ["mesh.data.v1.DataService", "mesh/data/v1/data.proto"],
    ["mesh.data.v1.DataService.ListItems", "mesh/data/v1/data.proto"],
    ["mesh.data.v1.Item.name", "mesh/data/v1/data.proto"],
    ["grpc.reflection.v1alpha.ServerReflection", "grpc/reflection/v1alpha/reflection.proto"],
    ["grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
  ])("answers file_containing_symbol %s with %s first, then its dependencies", async (symbol, file) => {
    const [answer] = await ask([{ messageRequest: { case: "fileContainingSymbol", value: symbol } }]);
    expect(fileNames(answer)[0]).toBe(file);
  });

  it("sends the transitive closure of a file", async () => {
    const [answer] = await ask([{ messageRequest: { case: "fileByFilename", value: "mesh/data/v1/data.proto" } }]);
    expect(fileNames(answer)).toEqual(
      expect.arrayContaining([
        "mesh/data/v1/data.proto",
        "google/api/annotations.proto",
        "google/api/http.proto",
        "google/protobuf/descriptor.proto",
        "google/protobuf/struct.proto",
        "google/protobuf/timestamp.proto",
        "google/protobuf/field_mask.proto",
      ]),
    );
  });

  it("answers unknown names with error_response NOT_FOUND and keeps the stream open", async () => {
    const answers = await ask([
      { messageRequest: { case: "fileContainingSymbol", value: "mesh.nope.v1.Nope" } },
      { messageRequest: { case: "fileByFilename", value: "nope.proto" } },
      {
        messageRequest: {
          case: "fileContainingExtension",
          value: { containingType: "google.protobuf.MethodOptions", extensionNumber: 1 },
        },
      },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "mesh.nope.v1.Nope" } },
      { messageRequest: { case: "fileContainingSymbol", value: "mesh.data.v1.Item" } },
    ]);
    expect(answers.map((answer) => answer.messageResponse.case)).toEqual([
      "errorResponse",
      "errorResponse",
      "errorResponse",
      "errorResponse",
      "fileDescriptorResponse",
    ]);
    expect(answers[0]?.messageResponse).toMatchObject({
      value: { errorCode: Code.NotFound, errorMessage: 'symbol "mesh.nope.v1.Nope" not found' },
    });
  });

  it("answers extension questions", async () => {
    const [byExtension, numbers] = await ask([
      {
        messageRequest: {
          case: "fileContainingExtension",
          value: { containingType: "google.protobuf.MethodOptions", extensionNumber: 72295728 },
        },
      },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "google.protobuf.MethodOptions" } },
    ]);
    expect(fileNames(byExtension)[0]).toBe("google/api/annotations.proto");
    expect(numbers?.messageResponse).toMatchObject({
      case: "allExtensionNumbersResponse",
      // google.api.http, and mesh.auth.v1.access (who may call a method through the gateway).
      value: { baseTypeName: "google.protobuf.MethodOptions", extensionNumber: [51001, 72295728] },
    });
  });

  it("ends the stream with INVALID_ARGUMENT when a request asks nothing", async () => {
    const error = await ask([{ host: "h" }]).catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
  });
});
