import { spawnSync } from "node:child_process";
import { chmod, chown, lstat, mkdir, readdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { InfraError } from "./infra-error.ts";
import type { SystemUser } from "./system-user.ts";

/**
 * Creates `dir` (and missing parents). When `owner` is given (we are root and the server runs as
 * another account), also makes sure that account can use it:
 * - the folders created here and `dir` itself get `o+x` (traverse, not list), so that a `dir` under a
 *   private folder of ours (e.g. a 0700 mkdtemp) is reachable;
 * - `dir` is chowned to the owner;
 * - a parent that existed before and blocks the owner is NOT changed: an InfraError names it.
 */
export async function prepareDataDir(dir: string, owner?: SystemUser): Promise<void> {
  const target = resolve(dir);
  const created = await mkdirTracked(target);
  if (owner === undefined) return;

  for (const folder of [...created, target]) {
    const { mode } = await stat(folder);
    if ((mode & 0o001) === 0) await chmod(folder, (mode & 0o7777) | 0o001);
  }
  const blocking = findBlockingAncestor(target, owner);
  if (blocking !== undefined) {
    throw new InfraError(
      "PERMISSION_DENIED",
      `the ${owner.name} user cannot reach ${target}: ${blocking} is not traversable by it`,
      `choose a data folder ${owner.name} can reach (e.g. under /var/tmp), or run: chmod o+x ${blocking}`,
    );
  }
  await chown(target, owner.uid, owner.gid);
}

/** Gives `dir` and everything in it to `owner` when its top is owned by someone else. */
export async function chownTreeIfNeeded(dir: string, owner: SystemUser): Promise<void> {
  const info = await lstat(dir);
  if (info.uid === owner.uid) return;
  await chownTree(dir, owner);
}

async function chownTree(path: string, owner: SystemUser): Promise<void> {
  const info = await lstat(path);
  if (info.isDirectory()) {
    for (const entry of await readdir(path)) await chownTree(join(path, entry), owner);
  }
  if (!info.isSymbolicLink()) await chown(path, owner.uid, owner.gid);
}

/** mkdir -p that reports which folders it created, outermost first. */
async function mkdirTracked(target: string): Promise<string[]> {
  const missing: string[] = [];
  let current = target;
  while (!(await exists(current))) {
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  await mkdir(target, { recursive: true });
  return missing;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The outermost folder on the way to `target` that `owner` cannot traverse, checked as that user. */
function findBlockingAncestor(target: string, owner: SystemUser): string | undefined {
  if (canTraverse(target, owner)) return undefined;
  const chain: string[] = [];
  for (let current = target; ; current = dirname(current)) {
    chain.unshift(current);
    if (dirname(current) === current) break;
  }
  return chain.find((folder) => !canTraverse(folder, owner)) ?? target;
}

function canTraverse(folder: string, owner: SystemUser): boolean {
  const result = spawnSync("test", ["-x", folder], { uid: owner.uid, gid: owner.gid, stdio: "ignore" });
  return result.status === 0;
}
