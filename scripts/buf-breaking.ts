// `npm run breaking [-- REF]`: buf breaking of the working tree against REF (default HEAD).
// A git input cannot be used directly: the third-party protos are not committed but copied from npm packages
// into proto-deps/, so REF's contracts are exported to a temporary folder and given the same proto-deps/.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { copyThirdPartyProtos } from "./generate.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ref = process.argv[2] ?? "HEAD";
const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" });

copyThirdPartyProtos();
try {
  git("cat-file", "-e", `${ref}:buf.yaml`);
} catch {
  console.log(`buf breaking: ${ref} has no buf.yaml; nothing to compare against.`);
  process.exit(0);
}
const against = mkdtempSync(join(tmpdir(), "connect-mesh-breaking-"));
try {
  execFileSync("sh", ["-c", `git archive "${ref}" buf.yaml proto | tar -x -C "${against}"`], { cwd: root, stdio: "inherit" });
  cpSync(join(root, "proto-deps"), join(against, "proto-deps"), { recursive: true });
  execFileSync(join(root, "node_modules", ".bin", "buf"), ["breaking", "--against", against], { cwd: root, stdio: "inherit" });
  console.log(`buf breaking: no breaking change against ${ref}.`);
} catch {
  process.exitCode = 1;
} finally {
  rmSync(against, { recursive: true, force: true });
}
