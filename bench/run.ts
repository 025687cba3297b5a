// `npm run bench`: runs every bench/*.bench.ts (each a standalone script that starts what it measures and
// writes bench/results/<name>.md), then rebuilds BENCHMARKS.md from the results.
//   npm run bench                 all benchmarks
//   npm run bench -- gateway      only bench/gateway.bench.ts
//   npm run bench -- --report     only rebuild BENCHMARKS.md from the recorded results
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const reportOnly = process.argv.includes("--report");
const only = process.argv.slice(2).filter((a) => a !== "--report");
const benches = reportOnly ? [] : readdirSync(join(root, "bench"))
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.bench\.ts$/, "")));

let failed = 0;
for (const file of benches) {
  console.log(`\n== ${file}`);
  const run = spawnSync(process.execPath, [join(root, "bench", file)], { stdio: "inherit", cwd: root });
  if (run.status !== 0) {
    failed++;
    console.error(`${file} failed (exit ${run.status ?? run.signal})`);
  }
}

const resultsDir = join(root, "bench", "results");
const sections = existsSync(resultsDir)
  ? readdirSync(resultsDir)
      .filter((f) => f.endsWith(".md"))
      .sort()
      .map((f) => readFileSync(join(resultsDir, f), "utf8").trim())
  : [];
writeFileSync(
  join(root, "BENCHMARKS.md"),
  `# Benchmarks

Each benchmark measures connect-mesh and its baseline in the same run on the same machine and reports the ratio.
They run on loopback only, bounded in time and count. Regenerate with \`npm run bench\` (this file is rebuilt from
\`bench/results/*.md\`). Targets are the issues'; a figure that misses its target says so.

${sections.length > 0 ? sections.join("\n\n") : "No benchmark has been recorded yet."}
`,
);
process.exit(failed > 0 ? 1 : 0);
