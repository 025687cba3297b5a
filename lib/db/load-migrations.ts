import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { MigrationError } from "./migration-error.ts";

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly fileName: string;
  readonly sql: string;
  /** sha256 of the file's bytes, hex. */
  readonly checksum: string;
}

const fileNamePattern = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_-]*)\.sql$/;

/** `0001_init.sql` -> { version: 1, name: "init" }; anything else is a MigrationError saying why. */
export function parseMigrationFileName(fileName: string): { version: number; name: string } {
  const match = fileNamePattern.exec(fileName);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new MigrationError(
      `migration file "${fileName}" must be named <number>_<name>.sql (letters, digits, _ or - in the name), e.g. 0001_init.sql`,
      fileName,
    );
  }
  const version = Number(match[1]);
  if (version < 1 || !Number.isSafeInteger(version)) {
    throw new MigrationError(`migration file "${fileName}" must start with a version from 1 up, e.g. 0001_init.sql`, fileName);
  }
  return { version, name: match[2] };
}

/** Every `.sql` file of `dir` as a migration, by version; other files are ignored. */
export async function loadMigrations(dir: string): Promise<Migration[]> {
  const fileNames = (await readdir(dir)).filter((fileName) => fileName.endsWith(".sql"));
  const migrations: Migration[] = [];
  for (const fileName of fileNames) {
    const { version, name } = parseMigrationFileName(fileName);
    const bytes = await readFile(join(dir, fileName));
    migrations.push({
      version,
      name,
      fileName,
      sql: bytes.toString("utf8"),
      checksum: createHash("sha256").update(bytes).digest("hex"),
    });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i += 1) {
    const [previous, current] = [migrations[i - 1], migrations[i]];
    if (previous !== undefined && current !== undefined && previous.version === current.version) {
      throw new MigrationError(
        `migrations "${previous.fileName}" and "${current.fileName}" share version ${current.version}: renumber one`,
        current.fileName,
      );
    }
  }
  return migrations;
}
