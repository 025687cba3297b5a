// The `mesh` command line: `npm run mesh -- status`, or `node cli/mesh.ts status`.
import { Command, CommanderError } from "commander";
import { startServiceCredential } from "../lib/auth/service-credential.ts";
import { ConfigError } from "../lib/config/load-config.ts";
import { createCliContext, type CliContext } from "./cli-context.ts";
import { UsageError, describeCliError, exitCodes } from "./cli-errors.ts";
import { cliServiceSecret, readCliConfig } from "./cli-config.ts";
import { createCliOutput } from "./cli-output.ts";
import { registerChaosCommand } from "./commands/chaos-command.ts";
import { registerEventsCommand } from "./commands/events-command.ts";
import { registerLoadCommand } from "./commands/load-command.ts";
import { registerPolicyCommand } from "./commands/policy-command.ts";
import { registerScaleCommand } from "./commands/scale-command.ts";
import { registerStatusCommand } from "./commands/status-command.ts";
import { registerUpCommand } from "./commands/up-command.ts";

let config;
try {
  config = readCliConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`mesh: ${err.message}`);
  process.exit(exitCodes.usage);
}

const program = new Command("mesh")
  .description("operate a connect-mesh: status, chaos, policies, load tests, scaling, events")
  .option("--control <url>", "the control plane", config.MESH_CONTROL_URL)
  .option("--json", "print JSON for scripts")
  .exitOverride()
  .showHelpAfterError();

// The mesh's service credential, when the secret is known: a control plane started with it requires it.
const serviceSecret = cliServiceSecret(config);
const credential = serviceSecret === undefined ? undefined : await startServiceCredential({ secret: serviceSecret, subject: "mesh-cli" });

let context: CliContext | undefined;
const getContext = (): CliContext => {
  const o = program.opts<{ control: string; json?: boolean }>();
  context ??= createCliContext(o.control, createCliOutput({ json: o.json === true, noColor: config.NO_COLOR !== undefined }), credential);
  return context;
};

registerUpCommand(program);
registerStatusCommand(program, getContext);
registerChaosCommand(program, getContext);
registerLoadCommand(program, getContext);
registerScaleCommand(program, getContext);
registerPolicyCommand(program, getContext);
registerEventsCommand(program, getContext);

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
  } else if (err instanceof UsageError) {
    console.error(`mesh: ${err.message}`);
    process.exitCode = exitCodes.usage;
  } else {
    const { code, message } = describeCliError(err, program.opts<{ control: string }>().control);
    console.error(`mesh: ${message}`);
    process.exitCode = code;
  }
}
