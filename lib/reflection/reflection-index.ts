import { createRegistry, toBinary } from "@bufbuild/protobuf";
import type { DescExtension, DescFile, DescService, Registry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

/**
 * What server reflection can tell about a set of services: the services, every file they need
 * (transitively, well-known types included) and every symbol declared in those files.
 */
export interface ReflectionIndex {
  /** Fully-qualified names of the services, sorted. */
  readonly services: readonly string[];
  /** The file declaring a symbol: a message, enum, enum value, field, oneof, extension, service or method. */
  fileContainingSymbol(symbol: string): DescFile | undefined;
  fileByName(name: string): DescFile | undefined;
  /** The file declaring extension `number` of message `extendee` (a fully-qualified name). */
  fileContainingExtension(extendee: string, number: number): DescFile | undefined;
  /** The numbers of the known extensions of a message, sorted; undefined when the message is unknown. */
  extensionNumbersOf(extendee: string): number[] | undefined;
  /**
   * The serialized FileDescriptorProto of `file` followed by those of its transitive dependencies,
   * each once. The requested file comes first: clients take the first entry as the answer.
   */
  encodeWithDependencies(file: DescFile): Uint8Array[];
}

/** Builds the index once; lookups are map reads. */
export function createReflectionIndex(services: Iterable<DescService>): ReflectionIndex {
  const serviceNames = new Set<string>();
  const files = new Map<string, DescFile>();
  for (const service of services) {
    serviceNames.add(service.typeName);
    collectFiles(service.file, files);
  }
  const registry = createRegistry(...files.values());
  const symbols = indexSymbols(registry);
  const extensions = indexExtensions(registry);
  const encoded = new Map<string, Uint8Array>();
  const encode = (file: DescFile): Uint8Array => {
    let bytes = encoded.get(file.proto.name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      encoded.set(file.proto.name, bytes);
    }
    return bytes;
  };

  return {
    services: [...serviceNames].sort(),
    fileContainingSymbol: (symbol) => symbols.get(stripLeadingDot(symbol)),
    fileByName: (name) => files.get(name),
    fileContainingExtension(extendee, number) {
      const message = registry.getMessage(stripLeadingDot(extendee));
      return message === undefined ? undefined : registry.getExtensionFor(message, number)?.file;
    },
    extensionNumbersOf(extendee) {
      const name = stripLeadingDot(extendee);
      if (registry.getMessage(name) === undefined) return undefined;
      return (extensions.get(name) ?? []).map((extension) => extension.number).sort((a, b) => a - b);
    },
    encodeWithDependencies(file) {
      const closure = new Map<string, DescFile>();
      collectFiles(file, closure);
      return [...closure.values()].map(encode);
    },
  };
}

/** Depth-first, the file itself first, each file once. */
function collectFiles(file: DescFile, into: Map<string, DescFile>): void {
  if (into.has(file.proto.name)) return;
  into.set(file.proto.name, file);
  for (const dependency of file.dependencies) collectFiles(dependency, into);
}

/**
 * Names as protoc resolves them. Enum values are siblings of their enum (`pkg.VALUE`), as in
 * descriptor pools; `pkg.Enum.VALUE` is accepted too because clients ask for it.
 */
function indexSymbols(registry: Registry): Map<string, DescFile> {
  const symbols = new Map<string, DescFile>();
  for (const desc of registry) {
    symbols.set(desc.typeName, desc.file);
    switch (desc.kind) {
      case "message":
        for (const field of desc.fields) symbols.set(`${desc.typeName}.${field.name}`, desc.file);
        for (const oneof of desc.oneofs) symbols.set(`${desc.typeName}.${oneof.name}`, desc.file);
        // The registry leaves out the synthetic map entry messages, but they are symbols too.
        for (const nested of desc.proto.nestedType) {
          if (nested.options?.mapEntry === true) symbols.set(`${desc.typeName}.${nested.name}`, desc.file);
        }
        break;
      case "enum": {
        const scope = desc.parent?.typeName ?? desc.file.proto.package;
        for (const value of desc.values) {
          symbols.set(scope === "" ? value.name : `${scope}.${value.name}`, desc.file);
          symbols.set(`${desc.typeName}.${value.name}`, desc.file);
        }
        break;
      }
      case "service":
        for (const method of desc.methods) symbols.set(`${desc.typeName}.${method.name}`, desc.file);
        break;
      case "extension":
        break;
    }
  }
  return symbols;
}

function indexExtensions(registry: Registry): Map<string, DescExtension[]> {
  const byExtendee = new Map<string, DescExtension[]>();
  for (const desc of registry) {
    if (desc.kind !== "extension") continue;
    const list = byExtendee.get(desc.extendee.typeName) ?? [];
    list.push(desc);
    byExtendee.set(desc.extendee.typeName, list);
  }
  return byExtendee;
}

function stripLeadingDot(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}
