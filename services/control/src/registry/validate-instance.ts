import type { Instance } from "../../../../gen/mesh/control/v1/registry_pb.ts";
import { invalidArgument, invalidArguments } from "../../../../lib/errors/connect-errors.ts";

export const namePattern = /^[A-Za-z0-9._-]{1,100}$/;
const rpcServicePattern = /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$/;

/** Throws InvalidArgument naming every bad field of an instance to register. */
export function validateInstance(instance: Instance | undefined): asserts instance is Instance {
  if (instance === undefined) throw invalidArgument("instance", "is required");
  const out: Array<{ field: string; reason: string }> = [];
  if (!namePattern.test(instance.id)) out.push({ field: "instance.id", reason: "must be 1 to 100 characters of A-Z, a-z, 0-9, '.', '_' or '-'" });
  if (!namePattern.test(instance.service)) out.push({ field: "instance.service", reason: "must be 1 to 100 characters of A-Z, a-z, 0-9, '.', '_' or '-'" });
  let addressOk = false;
  try {
    const url = new URL(instance.address);
    addressOk = (url.protocol === "http:" || url.protocol === "https:") && url.pathname === "/" && !url.search;
  } catch {}
  if (!addressOk) out.push({ field: "instance.address", reason: "must be a base URL such as http://127.0.0.1:4001" });
  if (instance.version.length > 100) out.push({ field: "instance.version", reason: "at most 100 characters" });
  const metadata = Object.entries(instance.metadata);
  if (metadata.length > 32) out.push({ field: "instance.metadata", reason: "at most 32 entries" });
  for (const [key, value] of metadata) {
    if (key.length === 0 || key.length > 63) out.push({ field: `instance.metadata[${JSON.stringify(key)}]`, reason: "keys are 1 to 63 characters" });
    if (value.length > 256) out.push({ field: `instance.metadata[${JSON.stringify(key)}]`, reason: "values are at most 256 characters" });
  }
  if (instance.rpcServices.length > 100) out.push({ field: "instance.rpc_services", reason: "at most 100 entries" });
  instance.rpcServices.forEach((s, i) => {
    if (!rpcServicePattern.test(s)) out.push({ field: `instance.rpc_services[${i}]`, reason: "must be a fully-qualified service name such as mesh.data.v1.DataService" });
  });
  if (out.length > 0) throw invalidArguments(out);
}
