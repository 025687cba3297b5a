import { subjectHeader } from "../../../lib/auth/service-credential.ts";

/** The header with which a direct caller (the CLI) names itself; self-declared, so only an audit hint. */
export const actorHeader = "x-actor";

/**
 * Who asked for a change, for the event log and audit columns: the token subject the gateway verified
 * (`x-mesh-subject`, which the gateway never takes from clients), else the name a direct caller declares in
 * `x-actor`, else "anonymous". At most 200 characters.
 */
export function requestActor(header: Headers): string {
  return (header.get(subjectHeader) || header.get(actorHeader) || "").slice(0, 200) || "anonymous";
}
