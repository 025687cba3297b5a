import { execFileSync } from "node:child_process";
import { readdirSync, realpathSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { isExecutable } from "./find-executable.ts";

export interface PostgresBinaries {
  /** Folder holding `initdb` and `postgres` of one installation. */
  readonly binDir: string;
  readonly initdb: string;
  readonly postgres: string;
  /** Major version, e.g. 15. */
  readonly majorVersion: number;
  /** As printed by `postgres --version`, e.g. "15.20". */
  readonly version: string;
}

export interface FindPostgresBinariesOptions {
  /** A PATH string to search. */
  searchPath: string;
  /** Folders holding one installation per version, each as `<root>/<version>/bin` (Debian layout). */
  versionRoots?: readonly string[];
}

/**
 * Finds a PostgreSQL server installation: every PATH folder holding `postgres` (followed through
 * symlinks, so /usr/local/bin/postgres -> /usr/lib/postgresql/15/bin counts as that folder) and
 * every `/usr/lib/postgresql/<version>/bin`; the highest major version wins.
 * Returns undefined when there is none.
 */
export function findPostgresBinaries(options: FindPostgresBinariesOptions): PostgresBinaries | undefined {
  const candidates = new Set<string>();
  for (const dir of options.searchPath.split(delimiter)) {
    if (dir === "") continue;
    const postgres = join(dir, "postgres");
    if (isExecutable(postgres)) candidates.add(dirname(realpathSync(postgres)));
  }
  for (const root of options.versionRoots ?? ["/usr/lib/postgresql"]) {
    for (const version of safeReaddir(root)) candidates.add(join(root, version, "bin"));
  }

  let best: PostgresBinaries | undefined;
  for (const binDir of candidates) {
    const found = inspectBinDir(binDir);
    if (found !== undefined && (best === undefined || found.majorVersion > best.majorVersion)) best = found;
  }
  return best;
}

function inspectBinDir(binDir: string): PostgresBinaries | undefined {
  const initdb = join(binDir, "initdb");
  const postgres = join(binDir, "postgres");
  if (!isExecutable(initdb) || !isExecutable(postgres)) return undefined;
  try {
    const output = execFileSync(postgres, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const match = /\(PostgreSQL\)\s+(\d+)(\.\d+)?/.exec(output);
    if (match?.[1] === undefined) return undefined;
    return {
      binDir,
      initdb,
      postgres,
      majorVersion: Number(match[1]),
      version: `${match[1]}${match[2] ?? ""}`,
    };
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
