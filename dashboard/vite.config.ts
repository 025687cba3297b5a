import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

/**
 * The dashboard: a single page served by the gateway at /dashboard/. `npm run build:dashboard` writes
 * dashboard/dist, which the gateway serves (services/gateway/src/dashboard/serve-dashboard.ts).
 */
export default defineConfig({
  root: here,
  base: "/dashboard/",
  // Preact's automatic JSX runtime: no plugin needed.
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Hashed names under assets/: the gateway caches them for a year.
    assetsDir: "assets",
    target: "es2022",
    sourcemap: true,
  },
  // The generated clients live outside the root, at ../gen.
  server: { fs: { allow: [fileURLToPath(new URL("..", import.meta.url))] } },
});
