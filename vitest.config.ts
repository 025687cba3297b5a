import { defineConfig } from "vitest/config";

const exclude = ["**/node_modules/**", "**/dist/**", "**/.mesh/**", "**/.tmp/**"];

/**
 * Three tiers, each a project:
 * - unit:  `*.test.ts`, pure logic;
 * - rpc:   `*.rpc.test.ts`, RPCs in-process through createRouterTransport, no servers;
 * - infra: `*.infra.test.ts`, against the private PostgreSQL and Redis that test/global-setup.ts
 *          starts once per run (or TEST_DATABASE_URL / TEST_REDIS_URL);
 * - dashboard: the dashboard's component and logic tests (`*.test.ts` and `*.test.tsx` under dashboard/) in happy-dom; its
 *          browser end-to-end tests are `*.infra.test.ts` and run in the infra tier.
 * Run one with `npx vitest run --project unit` (or rpc, infra, dashboard).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["**/*.test.ts"],
          exclude: [...exclude, "dashboard/**", "**/*.rpc.test.ts", "**/*.infra.test.ts"],
        },
      },
      {
        // Preact's automatic JSX runtime, as in dashboard/vite.config.ts.
        oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
        test: {
          name: "dashboard",
          include: ["dashboard/**/*.test.{ts,tsx}"],
          exclude: [...exclude, "**/*.rpc.test.ts", "**/*.infra.test.ts"],
          environment: "happy-dom",
        },
      },
      {
        test: {
          name: "rpc",
          include: ["**/*.rpc.test.ts"],
          exclude,
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: "infra",
          include: ["**/*.infra.test.ts"],
          exclude,
          globalSetup: ["test/global-setup.ts"],
          // Files start servers and processes of their own: one at a time on a 2-core machine.
          // Forks, not threads: lib/infra ties servers to the thread that spawned them.
          pool: "forks",
          fileParallelism: false,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
