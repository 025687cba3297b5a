import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import type { LoadTestSpec } from "../../../../gen/mesh/control/v1/load_test_pb.ts";
import { invalidArguments } from "../../../../lib/errors/connect-errors.ts";

type Violation = { field: string; reason: string };

const httpMethods = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);

/** Finds `package.Service/Method` among the services the mesh serves. */
export function findMeshMethod(services: readonly DescService[], name: string): DescMethod | undefined {
  const [serviceName, methodName] = name.split("/");
  const service = services.find((s) => s.typeName === serviceName);
  return service?.methods.find((m) => m.name === methodName);
}

/**
 * Throws InvalidArgument naming every bad field. A target is always inside the mesh: a path on the gateway
 * (never a URL of another host) or a unary RPC the mesh serves.
 */
export function validateLoadSpec(spec: LoadTestSpec | undefined, meshServices: readonly DescService[]): asserts spec is LoadTestSpec {
  const out: Violation[] = [];
  if (!spec) throw invalidArguments([{ field: "spec", reason: "is required" }]);
  const target = spec.target;
  if (target.case === undefined) out.push({ field: "spec.target", reason: "set http or rpc" });
  if (target.case === "http") {
    const { method, path } = target.value;
    if (!httpMethods.has(method.toUpperCase())) out.push({ field: "spec.http.method", reason: "must be GET, POST, PUT, PATCH or DELETE" });
    if (!path.startsWith("/") || path.startsWith("//") || /^[a-z][a-z0-9+.-]*:/i.test(path) || path.length > 2000 || /[\s\\]/.test(path)) {
      out.push({ field: "spec.http.path", reason: "must be a path on the mesh's gateway, such as /v1/items, not a URL" });
    }
  }
  if (target.case === "rpc") {
    const method = findMeshMethod(meshServices, target.value.method);
    if (!method) out.push({ field: "spec.rpc.method", reason: "must be a method the mesh serves, as package.Service/Method" });
    else if (method.methodKind !== "unary") out.push({ field: "spec.rpc.method", reason: "only unary methods can be load-tested" });
  }
  if (!Number.isInteger(spec.concurrency) || spec.concurrency < 1 || spec.concurrency > 1000) {
    out.push({ field: "spec.concurrency", reason: "must be between 1 and 1000" });
  }
  if (!(spec.requestsPerSecond > 0 && spec.requestsPerSecond <= 50_000)) {
    out.push({ field: "spec.requests_per_second", reason: "must be greater than 0 and at most 50000" });
  }
  const ms = spec.duration === undefined ? Number.NaN : durationMs(spec.duration);
  if (!(ms >= 1000 && ms <= 3_600_000)) out.push({ field: "spec.duration", reason: "must be between 1s and 3600s" });
  if (spec.name.length > 200) out.push({ field: "spec.name", reason: "at most 200 characters" });
  if (out.length > 0) throw invalidArguments(out);
}

/** One string per target, to keep two tests off the same target. */
export function targetKey(spec: LoadTestSpec): string {
  return spec.target.case === "http" ? `${spec.target.value.method.toUpperCase()} ${spec.target.value.path}` : `rpc ${spec.target.value?.method ?? ""}`;
}
