import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Redis } from "ioredis";

/** One Lua script, named like its file `<name>-<numKeys>.lua`, with its includes expanded. */
export interface LuaScript {
  readonly name: string;
  readonly numKeys: number;
  readonly lua: string;
  readonly sha: string;
}

const includePattern = /^--- @include "([a-z-]+)"$/gm;

/**
 * Reads every `<name>-<numKeys>.lua` of `dir` and expands its `--- @include "x"` lines with `includes/x.lua`
 * (each include once per script), as bullmq does with its commands.
 */
export function loadLuaScripts(dir: string): ReadonlyMap<string, LuaScript> {
  const scripts = new Map<string, LuaScript>();
  for (const file of readdirSync(dir)) {
    const match = /^([a-z-]+)-(\d+)\.lua$/.exec(file);
    if (match === null) continue;
    const [, name, keys] = match as unknown as [string, string, string];
    const seen = new Set<string>();
    const lua = readFileSync(join(dir, file), "utf8").replace(includePattern, (_, include: string) => {
      if (seen.has(include)) return "";
      seen.add(include);
      return readFileSync(join(dir, "includes", `${include}.lua`), "utf8");
    });
    scripts.set(name, { name, numKeys: Number(keys), lua, sha: createHash("sha1").update(lua).digest("hex") });
  }
  return scripts;
}

/**
 * Runs `script` with EVALSHA, falling back to EVAL (which also caches it on the server) when the server does
 * not know it yet: after a restart or SCRIPT FLUSH. The client is not changed (no defineCommand).
 */
export async function runScript(
  redis: Redis,
  script: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<unknown> {
  if (keys.length !== script.numKeys) throw new Error(`${script.name} takes ${script.numKeys} keys, got ${keys.length}`);
  try {
    return await redis.evalsha(script.sha, script.numKeys, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
    return await redis.eval(script.lua, script.numKeys, ...keys, ...args);
  }
}
