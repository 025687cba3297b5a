// Regenerates gen/ from proto/, offline and reproducibly.
// Third-party protos are copied from the npm packages that ship them into proto-deps/
// (ignored by git) so that buf can resolve imports without the Buf Schema Registry.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const deps = join(root, "proto-deps");
const modules = join(root, "node_modules");

/** Third-party protos the mesh imports: [source inside node_modules, destination inside proto-deps]. */
export const thirdPartyProtos: ReadonlyArray<readonly [string, string]> = [
  ["google-proto-files/google/api/annotations.proto", "google/api/annotations.proto"],
  ["google-proto-files/google/api/http.proto", "google/api/http.proto"],
  ["google-proto-files/google/api/httpbody.proto", "google/api/httpbody.proto"],
  ["google-proto-files/google/api/field_behavior.proto", "google/api/field_behavior.proto"],
  ["google-proto-files/google/rpc/code.proto", "google/rpc/code.proto"],
  ["google-proto-files/google/rpc/error_details.proto", "google/rpc/error_details.proto"],
  ["grpc-health-check/proto/health/v1/health.proto", "grpc/health/v1/health.proto"],
  ["@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto", "grpc/reflection/v1/reflection.proto"],
  ["@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto", "grpc/reflection/v1alpha/reflection.proto"],
];

export function copyThirdPartyProtos(): void {
  rmSync(deps, { recursive: true, force: true });
  for (const [from, to] of thirdPartyProtos) {
    const target = join(deps, to);
    mkdirSync(dirname(target), { recursive: true });
    try {
      cpSync(join(modules, from), target);
    } catch {
      console.error(`generate: ${from} is missing from node_modules. Run \`npm install\` first.`);
      process.exit(1);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  copyThirdPartyProtos();
  const onlyDeps = process.argv.includes("--deps-only");
  if (!onlyDeps) {
    execFileSync(join(modules, ".bin", "buf"), ["generate"], { cwd: root, stdio: "inherit" });
    // Descriptors with their comments, for the gateway's /openapi.json: generated code carries none. After
    // `buf generate`, whose `clean: true` empties gen/ first.
    execFileSync(join(modules, ".bin", "buf"), ["build", "--as-file-descriptor-set", "-o", "gen/mesh.binpb"], { cwd: root, stdio: "inherit" });
  }
}
