import { getOption, hasOption, type DescMethod } from "@bufbuild/protobuf";
import { http } from "../../../../gen/google/api/annotations_pb.ts";
import type { HttpRule } from "../../../../gen/google/api/http_pb.ts";

/** One HTTP binding of an RPC: the primary rule or one of its `additional_bindings`. */
export interface HttpBinding {
  /** GET, PUT, POST, DELETE, PATCH, or a custom kind (`*` for any method). */
  readonly method: string;
  readonly path: string;
  /** "" for no body, "*" for every field not bound by the path, or a top-level field name. */
  readonly body: string;
  /** "" for the whole response, or a top-level field name. */
  readonly responseBody: string;
  /** 0 for the primary rule, 1… for additional bindings in order. */
  readonly index: number;
}

/**
 * The bindings of a method's `google.api.http` option, primary first. Works on generated descriptors and on
 * descriptors loaded from a descriptor set (the option is then read from unknown fields). A method without
 * the option has none; a rule without a pattern is returned with method "" for the caller to report.
 */
export function httpBindingsOf(method: DescMethod): HttpBinding[] {
  if (!hasOption(method, http)) return [];
  const rule = getOption(method, http);
  const bindings = [toBinding(rule, 0)];
  // Nested bindings may not nest further (http.proto); deeper ones are ignored, as in other transcoders.
  rule.additionalBindings.forEach((extra, i) => bindings.push(toBinding(extra, i + 1)));
  return bindings;
}

function toBinding(rule: HttpRule, index: number): HttpBinding {
  const { body, responseBody } = rule;
  const pattern = rule.pattern;
  switch (pattern.case) {
    case "get":
    case "put":
    case "post":
    case "delete":
    case "patch":
      return { method: pattern.case.toUpperCase(), path: pattern.value, body, responseBody, index };
    case "custom":
      return { method: pattern.value.kind, path: pattern.value.path, body, responseBody, index };
    default:
      return { method: "", path: "", body, responseBody, index };
  }
}
