import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { findPostgresBinaries } from "./find-postgres-binaries.ts";

describe("findPostgresBinaries", () => {
  let root: string;
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A fake installation whose `postgres --version` prints `version`. */
  async function install(binDir: string, version: string): Promise<void> {
    await mkdir(binDir, { recursive: true });
    await writeFile(join(binDir, "postgres"), `#!/bin/sh\necho "postgres (PostgreSQL) ${version}"\n`);
    await writeFile(join(binDir, "initdb"), "#!/bin/sh\n");
    await chmod(join(binDir, "postgres"), 0o755);
    await chmod(join(binDir, "initdb"), 0o755);
  }

  it("picks the highest major version among the version folders", async () => {
    root = await mkdtemp(join(tmpdir(), "pgbin-"));
    await install(join(root, "lib", "13", "bin"), "13.9");
    await install(join(root, "lib", "16", "bin"), "16.4");
    await install(join(root, "lib", "9.6", "bin"), "9.6.24");
    const found = findPostgresBinaries({ searchPath: "", versionRoots: [join(root, "lib")] });
    expect(found).toMatchObject({ binDir: join(root, "lib", "16", "bin"), majorVersion: 16, version: "16.4" });
  });

  it("follows a PATH symlink to its installation folder", async () => {
    root = await mkdtemp(join(tmpdir(), "pgbin-"));
    await install(join(root, "opt", "pg17", "bin"), "17.0");
    await mkdir(join(root, "path"));
    await symlink(join(root, "opt", "pg17", "bin", "postgres"), join(root, "path", "postgres"));
    const found = findPostgresBinaries({ searchPath: join(root, "path"), versionRoots: [] });
    expect(found?.initdb).toBe(join(root, "opt", "pg17", "bin", "initdb"));
  });

  it("skips a folder without initdb and reports nothing when nothing is left", async () => {
    root = await mkdtemp(join(tmpdir(), "pgbin-"));
    await install(join(root, "lib", "15", "bin"), "15.1");
    await rm(join(root, "lib", "15", "bin", "initdb"));
    expect(findPostgresBinaries({ searchPath: "", versionRoots: [join(root, "lib")] })).toBeUndefined();
  });
});
