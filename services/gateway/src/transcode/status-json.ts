import { create, fromBinary, toBinary, toJson, type JsonObject, type JsonValue, type Registry } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import type { ConnectError } from "@connectrpc/connect";
import { RequestInfoSchema } from "../../../../gen/google/rpc/error_details_pb.ts";

const typePrefix = "type.googleapis.com/";

/**
 * An error as the JSON of google.rpc.Status: `{"code": 5, "message": "…", "details": [Any…]}`, the shape
 * grpc-gateway and Google APIs return. The details are the error's own (google.rpc.BadRequest, ErrorInfo…)
 * followed by a google.rpc.RequestInfo with the request id. Details of a type the registry does not know
 * keep their bytes in base64 under `value`.
 */
export function statusJson(err: ConnectError, requestId: string, registry: Registry): JsonObject {
  const details: JsonValue[] = [];
  for (const detail of err.details) {
    const type = "desc" in detail ? detail.desc.typeName : detail.type;
    let json: JsonValue | undefined;
    let bytes: Uint8Array | undefined;
    try {
      if ("desc" in detail) {
        const message = create(detail.desc, detail.value);
        bytes = toBinary(detail.desc, message);
        json = toJson(detail.desc, message, { registry });
      } else {
        bytes = detail.value;
        const desc = registry.getMessage(detail.type);
        if (desc) json = toJson(desc, fromBinary(desc, detail.value), { registry });
      }
    } catch {
      // A detail that does not convert (an Any inside it of an unknown type) keeps its bytes.
      json = undefined;
    }
    if (json !== undefined) details.push(anyJson(type, json));
    else if (bytes !== undefined) details.push({ "@type": typePrefix + type, value: base64Encode(bytes) });
  }
  details.push(anyJson(RequestInfoSchema.typeName, toJson(RequestInfoSchema, create(RequestInfoSchema, { requestId }))));
  return { code: err.code, message: err.rawMessage, details };
}

/** The proto3 JSON of an Any: the message's fields next to `@type`, or `value` for a scalar-form type. */
function anyJson(typeName: string, json: JsonValue): JsonObject {
  if (typeof json === "object" && json !== null && !Array.isArray(json)) return { "@type": typePrefix + typeName, ...json };
  return { "@type": typePrefix + typeName, value: json };
}
