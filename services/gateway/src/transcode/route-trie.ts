import type { TemplateSegment } from "./path-template.ts";

/** The HTTP method a custom rule with kind `*` accepts: any. */
export const anyMethod = "*";

interface Node<T> {
  literals: Map<string, Node<T>>;
  wildcard: Node<T> | undefined;
  /** `**`: consumes the rest of the path, zero segments or more. */
  deep: Node<T> | undefined;
  /** Routes ending here: verb ("" for none) → HTTP method → value. */
  ends: Map<string, Map<string, T>>;
}

export type TrieMatch<T> =
  | { kind: "found"; value: T }
  /** The path matched routes, none for this method; `allow` lists the methods that would match. */
  | { kind: "method-not-allowed"; allow: string[] }
  | { kind: "not-found" };

export interface RouteTrie<T> {
  /** Adds a route; returns the value already there for the same shape, verb and method (a conflict). */
  insert(segments: readonly TemplateSegment[], verb: string | undefined, method: string, value: T): T | undefined;
  /**
   * Finds the route for decoded path segments. At each segment a literal beats `*`, which beats `**`, and the
   * search backtracks when the preferred branch has no route for the method. The work depends on the path's
   * length and the trie's branching along it, never on the number of routes.
   */
  match(segments: readonly string[], verb: string | undefined, method: string): TrieMatch<T>;
}

function node<T>(): Node<T> {
  return { literals: new Map(), wildcard: undefined, deep: undefined, ends: new Map() };
}

export function createRouteTrie<T>(): RouteTrie<T> {
  const root = node<T>();
  return {
    insert(segments, verb, method, value) {
      let current = root;
      for (const segment of segments) {
        if (segment.kind === "literal") {
          let next = current.literals.get(segment.value);
          if (!next) current.literals.set(segment.value, (next = node()));
          current = next;
        } else if (segment.kind === "wildcard") {
          current = current.wildcard ??= node();
        } else {
          current = current.deep ??= node();
        }
      }
      let methods = current.ends.get(verb ?? "");
      if (!methods) current.ends.set(verb ?? "", (methods = new Map()));
      const existing = methods.get(method);
      if (existing !== undefined) return existing;
      methods.set(method, value);
      return undefined;
    },
    match(segments, verb, method) {
      // Made only when a path matches without the method: most requests need no set.
      let allow: Set<string> | undefined;
      const key = verb ?? "";
      const atEnd = (n: Node<T>): T | undefined => {
        const methods = n.ends.get(key);
        if (!methods) return undefined;
        const value = methods.get(method) ?? methods.get(anyMethod);
        if (value === undefined) for (const m of methods.keys()) (allow ??= new Set()).add(m);
        return value;
      };
      const visit = (n: Node<T>, i: number): T | undefined => {
        if (i === segments.length) {
          const value = atEnd(n);
          if (value !== undefined) return value;
        } else {
          const segment = segments[i]!;
          const literal = n.literals.get(segment);
          const viaLiteral = literal && visit(literal, i + 1);
          if (viaLiteral !== undefined) return viaLiteral;
          // `*` matches exactly one segment, and not an empty one (`//` or a trailing `/`).
          const viaWildcard = n.wildcard && segment !== "" ? visit(n.wildcard, i + 1) : undefined;
          if (viaWildcard !== undefined) return viaWildcard;
        }
        return n.deep && atEnd(n.deep);
      };
      const value = visit(root, 0);
      if (value !== undefined) return { kind: "found", value };
      if (allow !== undefined) return { kind: "method-not-allowed", allow: [...allow].sort() };
      return { kind: "not-found" };
    },
  };
}
