import { ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../../gen/google/rpc/error_details_pb.ts";

export interface FieldViolation {
  field: string;
  reason: string;
}

/**
 * The fields an InvalidArgument answer names, from its google.rpc.BadRequest detail, or else parsed from
 * the `field: reason; field: reason` message the mesh's services write.
 */
export function fieldViolations(err: unknown): FieldViolation[] {
  const error = ConnectError.from(err);
  const details = error.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations);
  if (details.length > 0) return details.map((v) => ({ field: v.field, reason: v.description }));
  return error.rawMessage
    .split("; ")
    .map((part) => /^([\w.[\]]+): (.+)$/.exec(part))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ field: m[1]!, reason: m[2]! }));
}

/** One line for an error from an action, for people: the server's message without the code prefix. */
export function describeError(err: unknown): string {
  const error = ConnectError.from(err);
  return error.rawMessage || `the call failed (${error.code})`;
}

/**
 * A lookup from a server field path (such as `spec.concurrency`) to the form field it belongs to: the first
 * pattern that matches wins.
 */
export function violationFieldLookup<Field extends string>(table: ReadonlyArray<readonly [RegExp, Field]>): (path: string) => Field | undefined {
  return (path) => table.find(([pattern]) => pattern.test(path))?.[1];
}

/** A form's errors from a server's field violations: the first per field, marked as the server's. */
export function errorsByFormField<Field extends string>(violations: readonly FieldViolation[], fieldOf: (path: string) => Field | undefined): Partial<Record<Field, string>> {
  const errors: Partial<Record<Field, string>> = {};
  for (const v of violations) {
    const field = fieldOf(v.field);
    if (field !== undefined && errors[field] === undefined) errors[field] = `${v.field} ${v.reason} (server)`;
  }
  return errors;
}
