import { readFileSync } from "node:fs";
import { createFileRegistry, fromBinary, type DescService, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

export class DescriptorSetError extends Error {
  override readonly name = "DescriptorSetError";
}

/**
 * Reads a FileDescriptorSet, as written by `buf build -o set.binpb` (a Buf image is wire-compatible) or
 * `protoc --include_imports --include_source_info -o`. Imports must be included so every type resolves.
 */
export function loadDescriptorSet(path: string): FileRegistry {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new DescriptorSetError(`cannot read descriptor set ${path}: ${(err as Error).message}`);
  }
  try {
    return createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes));
  } catch (err) {
    throw new DescriptorSetError(
      `${path} is not a usable FileDescriptorSet (${(err as Error).message}); build it with \`buf build -o ${path}\`, imports included`,
    );
  }
}

/** Every service declared in the registry's files. */
export function servicesOf(registry: FileRegistry): DescService[] {
  const services: DescService[] = [];
  for (const file of registry.files) services.push(...file.services);
  return services;
}
