import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { DataService } from "../../gen/mesh/data/v1/data_pb.ts";
import { StatusService } from "../../gen/mesh/health/v1/status_pb.ts";
import { createReflectionIndex } from "./reflection-index.ts";

const index = createReflectionIndex([StatusService, DataService]);

describe("createReflectionIndex", () => {
  it("lists the services, sorted", () => {
    expect(index.services).toEqual(["mesh.data.v1.DataService", "mesh.health.v1.StatusService"]);
  });

  it.each([
    ["service", "mesh.data.v1.DataService", "mesh/data/v1/data.proto"],
    ["method", "mesh.data.v1.DataService.GetItem", "mesh/data/v1/data.proto"],
    ["message", "mesh.data.v1.Item", "mesh/data/v1/data.proto"],
    ["field", "mesh.data.v1.Item.create_time", "mesh/data/v1/data.proto"],
    ["enum", "mesh.data.v1.ItemStatus", "mesh/data/v1/data.proto"],
    ["enum value, sibling scope", "mesh.data.v1.ITEM_STATUS_ACTIVE", "mesh/data/v1/data.proto"],
    ["enum value, enum scope", "mesh.data.v1.ItemStatus.ITEM_STATUS_ACTIVE", "mesh/data/v1/data.proto"],
    ["oneof in a dependency", "mesh.chaos.v1.Fault.spec", "mesh/chaos/v1/fault.proto"],
    ["leading dot", ".mesh.health.v1.StatusService", "mesh/health/v1/status.proto"],
    ["well-known type", "google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
    ["nested map entry", "google.protobuf.Struct.FieldsEntry", "google/protobuf/struct.proto"],
    ["nested enum value", "google.protobuf.FieldDescriptorProto.TYPE_INT32", "google/protobuf/descriptor.proto"],
    ["extension", "google.api.http", "google/api/annotations.proto"],
  ])("finds the file of a %s (%s)", (_kind, symbol, file) => {
    expect(index.fileContainingSymbol(symbol)?.proto.name).toBe(file);
  });

  it.each(["mesh.data.v1.Nope", "mesh.data.v1", "mesh.data.v1.DataService.Nope", ""])(
    "knows nothing of %j",
    (symbol) => {
      expect(index.fileContainingSymbol(symbol)).toBeUndefined();
    },
  );

  it("finds files by name, including dependencies", () => {
    expect(index.fileByName("mesh/chaos/v1/fault.proto")?.proto.name).toBe("mesh/chaos/v1/fault.proto");
    expect(index.fileByName("google/protobuf/duration.proto")?.proto.name).toBe(
      "google/protobuf/duration.proto",
    );
    expect(index.fileByName("nope.proto")).toBeUndefined();
  });

  it("encodes the file first, then its transitive dependencies, each once", () => {
    const file = index.fileByName("mesh/health/v1/status.proto");
    if (file === undefined) throw new Error("status.proto missing");
    const names = index
      .encodeWithDependencies(file)
      .map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
    expect(names[0]).toBe("mesh/health/v1/status.proto");
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual([
      "google/api/annotations.proto",
      "google/api/http.proto",
      "google/protobuf/descriptor.proto",
      "google/protobuf/duration.proto",
      "google/protobuf/timestamp.proto",
      "google/rpc/code.proto",
      "mesh/auth/v1/options.proto",
      "mesh/chaos/v1/fault.proto",
      "mesh/health/v1/status.proto",
    ]);
  });

  it("finds extensions by extendee and number", () => {
    expect(index.fileContainingExtension("google.protobuf.MethodOptions", 72295728)?.proto.name).toBe(
      "google/api/annotations.proto",
    );
    expect(index.fileContainingExtension("google.protobuf.MethodOptions", 1)).toBeUndefined();
    expect(index.fileContainingExtension("nope.Message", 72295728)).toBeUndefined();
  });

  it.each([
    // google.api.http, and mesh.auth.v1.access (who may call a method through the gateway).
    ["google.protobuf.MethodOptions", [51001, 72295728]],
    ["google.protobuf.FileOptions", []],
    ["nope.Message", undefined],
  ])("lists the extension numbers of %s", (extendee, numbers) => {
    expect(index.extensionNumbersOf(extendee)).toEqual(numbers);
  });
});
