/**
 * Path templates of `google.api.http` rules (google/api/http.proto, "Path template syntax"):
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     FieldPath = IDENT { "." IDENT } ;
 *     Verb     = ":" LITERAL ;
 *
 * The template is flattened into segments: a variable is the run of segments it captures (`{id}` is `*`).
 */

/** One segment of a flattened template. Literals are kept percent-decoded, as request segments are compared. */
export type TemplateSegment = { kind: "literal"; value: string } | { kind: "wildcard" } | { kind: "deep" };

export interface TemplateVariable {
  /** The request field the variable sets, such as `["item", "id"]`. */
  readonly fieldPath: readonly string[];
  /** Index of the first segment it captures. */
  readonly start: number;
  /** Index after the last segment it captures; undefined when it ends with `**` (the rest of the path). */
  readonly end: number | undefined;
  /**
   * True when the variable may span several segments (`{name=shelves/*}`, `{path=**}`): its value is then
   * decoded except `%2F`, which stays encoded, instead of fully.
   */
  readonly multiSegment: boolean;
}

export interface PathTemplate {
  /** The template as written in the rule. */
  readonly source: string;
  readonly segments: readonly TemplateSegment[];
  readonly variables: readonly TemplateVariable[];
  /** The custom verb after the last `:`, such as `undelete`; undefined when there is none. */
  readonly verb: string | undefined;
}

export class PathTemplateError extends Error {
  override readonly name = "PathTemplateError";
}

const identStart = /[A-Za-z_]/;
const identPart = /[A-Za-z0-9_]/;
/** Unreserved characters ([-_.~0-9a-zA-Z]) and percent-encoded octets. */
const literalChar = /[-_.~0-9A-Za-z%]/;

/** Parses a path template; throws PathTemplateError saying what is wrong and where. */
export function parsePathTemplate(source: string): PathTemplate {
  let pos = 0;
  const segments: TemplateSegment[] = [];
  const variables: TemplateVariable[] = [];
  const seen = new Set<string>();

  const fail = (reason: string): never => {
    throw new PathTemplateError(`invalid path template ${JSON.stringify(source)} at offset ${pos}: ${reason}`);
  };
  const peek = () => source[pos];

  function literal(what: string): string {
    const begin = pos;
    while (pos < source.length && literalChar.test(source[pos]!)) pos++;
    if (pos === begin) fail(`expected ${what}`);
    const raw = source.slice(begin, pos);
    try {
      return decodeURIComponent(raw);
    } catch {
      return fail(`${JSON.stringify(raw)} has a malformed percent-encoding`);
    }
  }

  function fieldPath(): string[] {
    const parts: string[] = [];
    for (;;) {
      const begin = pos;
      if (!identStart.test(peek() ?? "")) fail("expected a field name");
      while (pos < source.length && identPart.test(source[pos]!)) pos++;
      parts.push(source.slice(begin, pos));
      if (peek() !== ".") return parts;
      pos++;
    }
  }

  /** One segment; inside a variable no nested variable is allowed. */
  function segment(inVariable: boolean): void {
    if (segments.at(-1)?.kind === "deep") fail("`**` must be the last segment");
    const c = peek();
    if (c === "*") {
      pos++;
      if (peek() === "*") {
        pos++;
        segments.push({ kind: "deep" });
      } else {
        segments.push({ kind: "wildcard" });
      }
      return;
    }
    if (c === "{") {
      if (inVariable) fail("a variable cannot contain another variable");
      pos++;
      const path = fieldPath();
      const key = path.join(".");
      if (seen.has(key)) fail(`field ${key} is bound twice`);
      seen.add(key);
      const start = segments.length;
      if (peek() === "=") {
        pos++;
        segmentList(true);
      } else {
        segments.push({ kind: "wildcard" });
      }
      if (peek() !== "}") fail("expected `}`");
      pos++;
      const captured = segments.slice(start);
      const deep = captured.at(-1)?.kind === "deep";
      variables.push({
        fieldPath: path,
        start,
        end: deep ? undefined : segments.length,
        multiSegment: deep || captured.length > 1,
      });
      return;
    }
    segments.push({ kind: "literal", value: literal("a literal, `*`, `**` or `{variable}`") });
  }

  function segmentList(inVariable: boolean): void {
    segment(inVariable);
    while (peek() === "/") {
      pos++;
      segment(inVariable);
    }
  }

  if (peek() !== "/") fail("a template starts with `/`");
  pos++;
  // "/" alone is the root: no segment at all.
  if (pos < source.length) segmentList(false);
  let verb: string | undefined;
  if (peek() === ":") {
    pos++;
    verb = literal("a verb after `:`");
  }
  if (pos !== source.length) fail(`unexpected ${JSON.stringify(source[pos])}`);
  return { source, segments, variables, verb };
}

/** The template's shape without variable names, for messages: `{name=shelves/*}` becomes `shelves/*`. */
export function templateShape(template: PathTemplate): string {
  const parts = template.segments.map((s) => (s.kind === "literal" ? s.value : s.kind === "wildcard" ? "*" : "**"));
  return `/${parts.join("/")}${template.verb === undefined ? "" : `:${template.verb}`}`;
}
