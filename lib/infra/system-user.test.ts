import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lookupSystemUser } from "./system-user.ts";

describe("lookupSystemUser", () => {
  it("reads uid and gid from a passwd file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "passwd-"));
    try {
      const file = join(dir, "passwd");
      await writeFile(file, "root:x:0:0:root:/root:/bin/bash\npostgres:x:101:104:PostgreSQL:/var/lib/postgresql:/bin/bash\n");
      expect(lookupSystemUser("postgres", file)).toEqual({ name: "postgres", uid: 101, gid: 104 });
      expect(lookupSystemUser("post", file)).toBeUndefined();
      expect(lookupSystemUser("postgres", join(dir, "missing"))).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
