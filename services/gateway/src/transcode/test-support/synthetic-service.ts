import { create, createFileRegistry, setExtension, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  MethodOptionsSchema,
} from "@bufbuild/protobuf/wkt";
import { http } from "../../../../../gen/google/api/annotations_pb.ts";
import type { HttpRuleSchema } from "../../../../../gen/google/api/http_pb.ts";
import { HttpRuleSchema as RuleSchema } from "../../../../../gen/google/api/http_pb.ts";

export interface SyntheticMethod {
  name: string;
  rule: MessageInitShape<typeof HttpRuleSchema>;
  kind?: "unary" | "server" | "client" | "bidi";
}

const { STRING: TYPE_STRING, INT32: TYPE_INT32, MESSAGE: TYPE_MESSAGE } = FieldDescriptorProto_Type;
const { OPTIONAL, REPEATED } = FieldDescriptorProto_Label;

/**
 * A service built in memory, for rules no sane .proto file would hold (invalid templates, unknown fields)
 * and for tables of thousands of routes. Every method takes `synthetic.v1.Req`
 * `{ string id; string name; Nested nested; repeated string tags; int32 count }` (Nested is `{ string id }`)
 * and returns `synthetic.v1.Res { string text }`.
 */
export function syntheticService(methods: readonly SyntheticMethod[], serviceName = "Synthetic"): DescService {
  const field = (name: string, number: number, type: FieldDescriptorProto_Type, label = OPTIONAL, typeName = "") => ({
    name,
    number,
    type,
    label,
    typeName,
    jsonName: name,
  });
  const file = create(FileDescriptorProtoSchema, {
    name: `synthetic/${serviceName}.proto`,
    package: "synthetic.v1",
    syntax: "proto3",
    messageType: [
      {
        name: "Req",
        field: [
          field("id", 1, TYPE_STRING),
          field("name", 2, TYPE_STRING),
          field("nested", 3, TYPE_MESSAGE, OPTIONAL, ".synthetic.v1.Nested"),
          field("tags", 4, TYPE_STRING, REPEATED),
          field("count", 5, TYPE_INT32),
        ],
      },
      { name: "Nested", field: [field("id", 1, TYPE_STRING)] },
      { name: "Res", field: [field("text", 1, TYPE_STRING)] },
    ],
    service: [
      {
        name: serviceName,
        method: methods.map((m) => {
          const options = create(MethodOptionsSchema);
          setExtension(options, http, create(RuleSchema, m.rule));
          return {
            name: m.name,
            inputType: ".synthetic.v1.Req",
            outputType: ".synthetic.v1.Res",
            options,
            clientStreaming: m.kind === "client" || m.kind === "bidi",
            serverStreaming: m.kind === "server" || m.kind === "bidi",
          };
        }),
      },
    ],
  });
  const registry = createFileRegistry(file, () => undefined);
  const service = registry.getService(`synthetic.v1.${serviceName}`);
  if (!service) throw new Error("synthetic service did not build");
  return service;
}
