import { create } from "@bufbuild/protobuf";
import type { DescFile, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ServerReflectionResponseSchema } from "../../gen/grpc/reflection/v1/reflection_pb.ts";
import type {
  ServerReflectionRequest,
  ServerReflectionResponse,
} from "../../gen/grpc/reflection/v1/reflection_pb.ts";
import type { ReflectionIndex } from "./reflection-index.ts";

type MessageResponse = MessageInitShape<typeof ServerReflectionResponseSchema>["messageResponse"];

/**
 * Answers one message of a ServerReflectionInfo stream (v1 shape; v1alpha is converted by the caller).
 * Unknown names are answered in-band with error_response NOT_FOUND, as grpc-go does, so the stream
 * stays usable. A request with no question set ends the stream with INVALID_ARGUMENT.
 */
export function answerReflectionRequest(
  index: ReflectionIndex,
  request: ServerReflectionRequest,
): ServerReflectionResponse {
  return create(ServerReflectionResponseSchema, {
    validHost: request.host,
    originalRequest: request,
    messageResponse: answer(index, request.messageRequest),
  });
}

function answer(index: ReflectionIndex, question: ServerReflectionRequest["messageRequest"]): MessageResponse {
  switch (question.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: { service: index.services.map((name) => ({ name })) },
      };
    case "fileByFilename":
      return files(index, index.fileByName(question.value), `file "${question.value}" not found`);
    case "fileContainingSymbol":
      return files(
        index,
        index.fileContainingSymbol(question.value),
        `symbol "${question.value}" not found`,
      );
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = question.value;
      return files(
        index,
        index.fileContainingExtension(containingType, extensionNumber),
        `extension ${extensionNumber} of "${containingType}" not found`,
      );
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbersOf(question.value);
      if (numbers === undefined) return notFound(`message type "${question.value}" not found`);
      return {
        case: "allExtensionNumbersResponse",
        value: { baseTypeName: question.value, extensionNumber: numbers },
      };
    }
    case undefined:
      throw new ConnectError(
        "reflection request has no question: set one of list_services, file_by_filename, " +
          "file_containing_symbol, file_containing_extension, all_extension_numbers_of_type",
        Code.InvalidArgument,
      );
  }
}

function files(index: ReflectionIndex, file: DescFile | undefined, notFoundMessage: string): MessageResponse {
  if (file === undefined) return notFound(notFoundMessage);
  return {
    case: "fileDescriptorResponse",
    value: { fileDescriptorProto: index.encodeWithDependencies(file) },
  };
}

function notFound(message: string): MessageResponse {
  return {
    case: "errorResponse",
    value: { errorCode: Code.NotFound, errorMessage: message },
  };
}
