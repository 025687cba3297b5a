import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { InfraError } from "../lib/infra/infra-error.ts";
import { startLocalInfra } from "../lib/infra/local-infra.ts";
import "./infra-context.ts";

/**
 * Starts one private PostgreSQL and one private Redis for the whole infra run, in a temp folder,
 * and provides their URLs (`inject("databaseUrl")`, `inject("redisUrl")`, or `infraUrls()` from
 * test/infra-context.ts). TEST_DATABASE_URL / TEST_REDIS_URL name servers to use instead.
 * PGlite is refused: tests need real sessions and concurrency.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(join(tmpdir(), "connect-mesh-test-"));
  let infra;
  try {
    infra = await startLocalInfra({
      dataDir,
      databaseUrl: process.env.TEST_DATABASE_URL || undefined,
      redisUrl: process.env.TEST_REDIS_URL || undefined,
      database: "mesh_test",
      allowPglite: false,
    });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    if (error instanceof InfraError) throw new Error(`test infrastructure: ${error.describe()}`, { cause: error });
    throw error;
  }
  project.provide("databaseUrl", infra.databaseUrl);
  project.provide("redisUrl", infra.redisUrl);

  return async function teardown() {
    await infra.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
