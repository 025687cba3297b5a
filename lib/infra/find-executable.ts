import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** The first of `names` found as an executable file in the `searchPath` folders (a PATH string). */
export function findExecutable(names: readonly string[], searchPath: string): string | undefined {
  const dirs = searchPath.split(delimiter).filter((dir) => dir !== "");
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

export function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
