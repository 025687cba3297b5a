import type { DescField, DescMethod, DescService } from "@bufbuild/protobuf";
import { isScalarLike, resolveFieldPath } from "./field-path.ts";
import { httpBindingsOf, type HttpBinding } from "./http-rules.ts";
import { parsePathTemplate, PathTemplateError, templateShape, type PathTemplate, type TemplateVariable } from "./path-template.ts";
import { decodeSingleSegment } from "./percent-decode.ts";
import { anyMethod, createRouteTrie } from "./route-trie.ts";

export interface RouteVariable {
  readonly template: TemplateVariable;
  /** The request fields from the message down to the leaf. */
  readonly fields: readonly DescField[];
  /** The field path as written in the template, such as `item.id`. */
  readonly name: string;
}

/** One HTTP binding of one RPC, checked against the RPC's messages. */
export interface Route {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly binding: HttpBinding;
  readonly template: PathTemplate;
  readonly variables: readonly RouteVariable[];
  /** "*" for every field not bound by the path, a top-level request field, or undefined for no body. */
  readonly body: "*" | DescField | undefined;
  /** The top-level response field written as the HTTP body, or undefined for the whole response. */
  readonly responseBody: DescField | undefined;
  /** `GET /v1/items/{id}`. */
  readonly label: string;
}

export type RouteMatch =
  /** `values` holds each variable's captured text, still percent-encoded, in `route.variables` order. */
  | { kind: "found"; route: Route; values: string[] }
  | { kind: "method-not-allowed"; allow: string[] }
  | { kind: "not-found" }
  /** The path has a malformed percent-encoding or is not UTF-8 once decoded. */
  | { kind: "bad-path" };

export interface RouteTable {
  readonly routes: readonly Route[];
  /** Bindings that were skipped, with the reason (client and bidi streaming cannot be transcoded). */
  readonly warnings: readonly string[];
  /** Finds the route for a request's method and path (without the query string). */
  match(method: string, path: string): RouteMatch;
}

/** Invalid rules and conflicting routes, all of them, found when the table was built. */
export class RouteTableError extends Error {
  override readonly name = "RouteTableError";
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid HTTP routes:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = problems;
  }
}

function rpcName(method: DescMethod): string {
  return `${method.parent.typeName}.${method.name}`;
}

/** Checks one binding against its method's messages; returns the route or a problem. */
function buildRoute(service: DescService, method: DescMethod, binding: HttpBinding): Route | string {
  const where = `${rpcName(method)}${binding.index > 0 ? ` (additional binding ${binding.index})` : ""}`;
  if (binding.method === "" || binding.path === "") return `${where}: the rule has no method or path`;
  let template: PathTemplate;
  try {
    template = parsePathTemplate(binding.path);
  } catch (err) {
    if (err instanceof PathTemplateError) return `${where}: ${err.message}`;
    throw err;
  }
  const variables: RouteVariable[] = [];
  for (const variable of template.variables) {
    const name = variable.fieldPath.join(".");
    const fields = resolveFieldPath(method.input, variable.fieldPath, "proto");
    if (typeof fields === "string") return `${where}: path variable ${name}: ${fields}`;
    if (!isScalarLike(fields.at(-1)!)) {
      return `${where}: path variable ${name} must be a singular scalar, enum or scalar well-known type`;
    }
    variables.push({ template: variable, fields, name });
  }
  let body: Route["body"];
  if (binding.body === "*") {
    body = "*";
  } else if (binding.body !== "") {
    body = method.input.fields.find((f) => f.name === binding.body);
    if (!body) return `${where}: body ${JSON.stringify(binding.body)} is not a top-level field of ${method.input.typeName}`;
  }
  let responseBody: DescField | undefined;
  if (binding.responseBody !== "") {
    responseBody = method.output.fields.find((f) => f.name === binding.responseBody);
    if (!responseBody) {
      return `${where}: response_body ${JSON.stringify(binding.responseBody)} is not a top-level field of ${method.output.typeName}`;
    }
  }
  const label = `${binding.method} ${binding.path}`;
  return { service, method, binding, template, variables, body, responseBody, label };
}

/**
 * Builds the routing table from the `google.api.http` rules of `services`, additional bindings included.
 * Throws RouteTableError listing every invalid rule and every pair of routes that would match the same
 * requests (same method, same path shape, same verb). Literals win over `*`, which wins over `**`, so
 * `/v1/items:batch` and `/v1/items/{id}` never conflict.
 */
export function createRouteTable(services: Iterable<DescService>): RouteTable {
  const trie = createRouteTrie<Route>();
  const routes: Route[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const service of services) {
    for (const method of service.methods) {
      for (const binding of httpBindingsOf(method)) {
        if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
          warnings.push(`${rpcName(method)}: ${binding.method} ${binding.path} skipped: ${method.methodKind} RPCs cannot be called over REST`);
          continue;
        }
        const route = buildRoute(service, method, binding);
        if (typeof route === "string") {
          problems.push(route);
          continue;
        }
        const httpMethod = route.binding.method === anyMethod ? anyMethod : route.binding.method;
        const existing = trie.insert(route.template.segments, route.template.verb, httpMethod, route);
        if (existing) {
          problems.push(
            `${route.label} (${rpcName(method)}) conflicts with ${existing.label} (${rpcName(existing.method)}): both match ${httpMethod} ${templateShape(route.template)}`,
          );
          continue;
        }
        routes.push(route);
      }
    }
  }
  if (problems.length > 0) throw new RouteTableError(problems);

  return {
    routes,
    warnings,
    match(method, path) {
      const raw = path === "/" ? [] : path.slice(1).split("/");
      // Without a `%`, every segment decodes to itself.
      let decoded = raw;
      if (path.includes("%")) {
        decoded = [];
        for (const segment of raw) {
          const value = decodeSingleSegment(segment);
          if (value === undefined) return { kind: "bad-path" };
          decoded.push(value);
        }
      }
      // A `:` in the last segment may start a custom verb (`/v1/items/42:undelete`); when no route of this
      // path has that verb, the whole segment is tried as plain text, so ids may contain colons.
      const last = raw.at(-1);
      const colon = last === undefined ? -1 : last.lastIndexOf(":");
      if (last !== undefined && colon >= 0) {
        const verb = decodeSingleSegment(last.slice(colon + 1));
        const head = decodeSingleSegment(last.slice(0, colon));
        if (verb === undefined || head === undefined) return { kind: "bad-path" };
        const withVerb = trie.match([...decoded.slice(0, -1), head], verb, method);
        if (withVerb.kind === "found") {
          return { kind: "found", route: withVerb.value, values: capture(withVerb.value, [...raw.slice(0, -1), last.slice(0, colon)]) };
        }
        // The verb exists on this path for other methods: that is a wrong method, not an id with a colon.
        if (withVerb.kind === "method-not-allowed") return withVerb;
      }
      const plain = trie.match(decoded, undefined, method);
      return plain.kind === "found" ? { kind: "found", route: plain.value, values: capture(plain.value, raw) } : plain;
    },
  };
}

function capture(route: Route, raw: readonly string[]): string[] {
  return route.variables.map(({ template: { start, end } }) =>
    end === start + 1 ? raw[start]! : raw.slice(start, end ?? raw.length).join("/"),
  );
}
