import { spawn } from "node:child_process";
import { resolve } from "node:path";
import type { Command } from "commander";

/** `mesh up`: the same as `npm start`. */
export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description("start the whole mesh locally (the same as npm start)")
    .action(async () => {
      const child = spawn(process.execPath, [resolve(import.meta.dirname, "../../scripts/start.ts")], { stdio: "inherit" });
      // The terminal's Ctrl-C reaches both; start.ts stops the mesh and exits, and so do we.
      process.on("SIGINT", () => undefined);
      const code = await new Promise<number>((done) => child.once("exit", (c) => done(c ?? 1)));
      process.exitCode = code;
    });
}
