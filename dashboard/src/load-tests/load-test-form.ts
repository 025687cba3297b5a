import { create, fromJson, type JsonObject, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { StartLoadTestRequestSchema, type LoadTestSpecSchema, type StartLoadTestRequest } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import { violationFieldLookup } from "../ui/field-violations.ts";
import { createNumberReader } from "../ui/read-number.ts";
import type { ParsedForm } from "../ui/use-action-form.ts";

export const httpMethods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** What the load-test form holds, as typed; `parseLoadTestForm` turns it into a request. */
export interface LoadTestForm {
  targetKind: "rpc" | "http";
  /** `package.Service/Method`. */
  rpcMethod: string;
  /** The RPC's request in proto3 JSON; empty means `{}`. */
  rpcRequest: string;
  httpMethod: string;
  httpPath: string;
  /** A JSON body for methods that take one; empty means none. */
  httpBody: string;
  concurrency: string;
  requestsPerSecond: string;
  durationSeconds: string;
  name: string;
  /** Start even when another test runs against the same target. */
  force: boolean;
}

export type LoadTestFormField = Exclude<keyof LoadTestForm, "force" | "targetKind">;
export type LoadTestFormErrors = Partial<Record<LoadTestFormField, string>>;

export const defaultLoadTestForm: LoadTestForm = {
  targetKind: "rpc",
  rpcMethod: "mesh.data.v1.DataService/ListItems",
  rpcRequest: "{}",
  httpMethod: "GET",
  httpPath: "/v1/items",
  httpBody: "",
  concurrency: "10",
  requestsPerSecond: "50",
  durationSeconds: "30",
  name: "",
  force: false,
};

const rpcMethodPattern = /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+\/[A-Za-z_]\w*$/;

function parseJson(text: string): { ok: true; value: JsonValue } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) as JsonValue };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : "not JSON" };
  }
}

/**
 * Turns the load-test form into a LoadTestService.StartLoadTest request, or a message per bad field. The
 * ranges are the server's (services/control/src/load/validate-load-spec.ts), which stays the judge: whether
 * the RPC exists and is unary is for it to say.
 */
export function parseLoadTestForm(form: LoadTestForm): ParsedForm<StartLoadTestRequest, LoadTestFormField> {
  const errors: LoadTestFormErrors = {};
  let target: MessageInitShape<typeof LoadTestSpecSchema>["target"];
  if (form.targetKind === "rpc") {
    const method = form.rpcMethod.trim();
    if (!rpcMethodPattern.test(method)) errors.rpcMethod = "Use package.Service/Method, such as mesh.data.v1.DataService/ListItems";
    const json = parseJson(form.rpcRequest.trim() === "" ? "{}" : form.rpcRequest);
    let request: JsonObject = {};
    if (!json.ok) errors.rpcRequest = `The request is not JSON: ${json.reason}`;
    else if (typeof json.value !== "object" || json.value === null || Array.isArray(json.value)) errors.rpcRequest = "The request must be a JSON object, such as {}";
    else request = json.value;
    target = { case: "rpc", value: { method, request } };
  } else {
    const method = form.httpMethod.toUpperCase();
    if (!(httpMethods as readonly string[]).includes(method)) errors.httpMethod = "Choose GET, POST, PUT, PATCH or DELETE";
    const path = form.httpPath.trim();
    if (!path.startsWith("/") || path.startsWith("//") || /[\s\\]/.test(path) || path.length > 2000) {
      errors.httpPath = "Use a path on the gateway starting with /, such as /v1/items, not a URL";
    }
    let body;
    if (form.httpBody.trim() !== "") {
      const json = parseJson(form.httpBody);
      if (json.ok) body = fromJson(ValueSchema, json.value);
      else errors.httpBody = `The body is not JSON: ${json.reason}`;
    }
    target = { case: "http", value: { method, path, body } };
  }
  const read = createNumberReader<LoadTestFormField>(form, errors);
  const concurrency = read("concurrency", "Concurrency", { min: 1, max: 1000, integer: true });
  const rate = read("requestsPerSecond", "Rate", { min: 0, max: 50_000, aboveMin: true });
  const seconds = read("durationSeconds", "Duration", { min: 1, max: 3600 });
  if (form.name.length > 200) errors.name = "At most 200 characters";
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    request: create(StartLoadTestRequestSchema, {
      spec: { target, concurrency, requestsPerSecond: rate, duration: durationFromMs(Math.round(seconds * 1000)), name: form.name.trim() },
      force: form.force,
    }),
  };
}

const violationFields: ReadonlyArray<readonly [RegExp, LoadTestFormField]> = [
  [/^spec\.rpc\.method$/, "rpcMethod"],
  [/^spec\.rpc\.request/, "rpcRequest"],
  [/^spec\.http\.method$/, "httpMethod"],
  [/^spec\.http\.path$/, "httpPath"],
  [/^spec\.http\.body/, "httpBody"],
  [/^spec\.concurrency$/, "concurrency"],
  [/^spec\.requests_per_second$/, "requestsPerSecond"],
  [/^spec\.duration$/, "durationSeconds"],
  [/^spec\.name$/, "name"],
];

/** The form field a server field violation (such as `spec.concurrency`) belongs to, if any. */
export const formFieldOfViolation = violationFieldLookup(violationFields);
