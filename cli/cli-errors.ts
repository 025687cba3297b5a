import { Code, ConnectError } from "@connectrpc/connect";

/** Exit codes that mean something to scripts. */
export const exitCodes = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  unavailable: 4,
  conflict: 5,
} as const;

/** The exit code and one-line message for an error from the control plane. */
export function describeCliError(err: unknown, controlUrl: string): { code: number; message: string } {
  const e = ConnectError.from(err);
  switch (e.code) {
    case Code.InvalidArgument:
    case Code.OutOfRange:
      return { code: exitCodes.usage, message: e.rawMessage };
    case Code.NotFound:
      return { code: exitCodes.notFound, message: e.rawMessage };
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return { code: exitCodes.unavailable, message: `the control plane at ${controlUrl} is unreachable (${e.rawMessage}); is the mesh up (\`npm start\`), or set MESH_CONTROL_URL` };
    case Code.Unauthenticated:
      return {
        code: exitCodes.failure,
        message: `the control plane at ${controlUrl} refused the call (${e.rawMessage}); it runs with the mesh's service secret: set MESH_SERVICE_SECRET to the same value, or run the CLI where \`npm start\` keeps .mesh/service-secret`,
      };
    case Code.Unimplemented:
      return { code: exitCodes.failure, message: `this control plane does not support that yet (${e.rawMessage})` };
    case Code.Aborted:
    case Code.AlreadyExists:
    case Code.FailedPrecondition:
      return { code: exitCodes.conflict, message: e.rawMessage };
    default:
      return { code: exitCodes.failure, message: e.rawMessage };
  }
}

/** A mistake in the command line found by a command itself (commander reports the rest). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
