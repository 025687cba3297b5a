import type { DescriptorProto, EnumDescriptorProto, FileDescriptorProto } from "@bufbuild/protobuf/wkt";

/** The leading comments of a schema's elements, by full name (`mesh.data.v1.Item.name`). */
export interface CommentIndex {
  of(fullName: string): string | undefined;
}

/**
 * Reads the comments that `buf build` keeps in `source_code_info`. Generated code carries descriptors
 * without them, so OpenAPI descriptions come from a descriptor set built from the same protos. Enum values
 * are keyed under their enum (`pkg.Enum.VALUE`), unlike protobuf scoping, so that each has its own entry.
 */
export function createCommentIndex(files: Iterable<FileDescriptorProto>): CommentIndex {
  const comments = new Map<string, string>();
  for (const file of files) indexFile(file, comments);
  return { of: (name) => comments.get(name) };
}

function indexFile(file: FileDescriptorProto, into: Map<string, string>): void {
  const locations = file.sourceCodeInfo?.location ?? [];
  if (locations.length === 0) return;
  const names = new Map<string, string>();
  const key = (path: readonly number[]) => path.join(".");
  const prefix = file.package ? `${file.package}.` : "";

  const indexEnum = (e: EnumDescriptorProto, path: number[], name: string) => {
    names.set(key(path), name);
    e.value.forEach((v, i) => names.set(key([...path, 2, i]), `${name}.${v.name}`));
  };
  const indexMessage = (m: DescriptorProto, path: number[], name: string) => {
    names.set(key(path), name);
    m.field.forEach((f, i) => names.set(key([...path, 2, i]), `${name}.${f.name}`));
    m.nestedType.forEach((n, i) => indexMessage(n, [...path, 3, i], `${name}.${n.name}`));
    m.enumType.forEach((n, i) => indexEnum(n, [...path, 4, i], `${name}.${n.name}`));
  };
  // Field numbers of FileDescriptorProto: 4 message_type, 5 enum_type, 6 service (2 method inside).
  file.messageType.forEach((m, i) => indexMessage(m, [4, i], prefix + m.name));
  file.enumType.forEach((e, i) => indexEnum(e, [5, i], prefix + e.name));
  file.service.forEach((s, i) => {
    names.set(key([6, i]), prefix + s.name);
    s.method.forEach((m, j) => names.set(key([6, i, 2, j]), `${prefix}${s.name}.${m.name}`));
  });

  for (const location of locations) {
    const name = names.get(key(location.path));
    const text = location.leadingComments ?? "";
    if (name === undefined || text.trim() === "") continue;
    into.set(name, clean(text));
  }
}

/** Drops the one space after `//` on each line and the blank edges. */
function clean(comment: string): string {
  return comment
    .split("\n")
    .map((line) => (line.startsWith(" ") ? line.slice(1) : line).trimEnd())
    .join("\n")
    .trim();
}
