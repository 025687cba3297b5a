import { execFile } from "node:child_process";
import { cpSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createFileRegistry, fromBinary, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { thirdPartyProtos } from "../../../../../scripts/generate.ts";
import { createTempDir } from "../../../../../test/temp-dir.ts";

const root = fileURLToPath(new URL("../../../../../", import.meta.url));
const buf = join(root, "node_modules/.bin/buf");

/** The google.api and google.rpc protos the mesh's and the test's files import (not health or reflection,
 * which the gateway serves itself). */
const thirdParty = thirdPartyProtos.filter(([, to]) => to.startsWith("google/"));

export interface BuiltDescriptorSet {
  /** The FileDescriptorSet file, with source info (comments) and imports. */
  readonly path: string;
  readonly registry: FileRegistry;
  remove(): Promise<void>;
}

/** The folders whose contents are proto import roots. */
const protoRoots = ["test/protos", "proto"];

/**
 * Compiles protos with `buf build --as-file-descriptor-set` (offline) in a temp folder that holds copies of
 * `sources` and of the google.api/google.rpc protos. A source is an import root (`test/protos` for the
 * test-only services, `proto` for the mesh's contracts with their comments) or a folder inside one
 * (`test/protos/transcode/library`), which keeps its place relative to the root.
 */
export async function buildDescriptorSet(sources: readonly string[] = ["test/protos"]): Promise<BuiltDescriptorSet> {
  const dir = await createTempDir("transcode-protos");
  const module = join(dir.path, "module");
  for (const source of sources) {
    const base = protoRoots.find((r) => source === r || source.startsWith(`${r}/`));
    if (base === undefined) throw new Error(`${source} is not inside ${protoRoots.join(" or ")}`);
    cpSync(join(root, source), join(module, relative(base, source)), { recursive: true, filter: (p) => !p.endsWith(".md") });
  }
  for (const [from, to] of thirdParty) {
    mkdirSync(dirname(join(module, to)), { recursive: true });
    cpSync(join(root, "node_modules", from), join(module, to));
  }
  const out = join(dir.path, "set.binpb");
  await promisify(execFile)(buf, ["build", module, "--as-file-descriptor-set", "-o", out], { cwd: dir.path });
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(out)));
  return { path: out, registry, remove: dir.remove };
}
