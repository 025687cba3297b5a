import type { DescField } from "@bufbuild/protobuf";
import type { Route } from "../route-table.ts";

/** A request of the fuzz test. `http2` picks the client; HTTP/2 allows method tokens Node's HTTP/1.1 parser does not. */
export interface FuzzRequest {
  kind: string;
  http2: boolean;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

/** mulberry32: a small seeded PRNG, so every run sends the same requests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Methods Node's HTTP/1.1 parser accepts; HTTP/2 requests also get made-up tokens. */
const h1Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "SEARCH", "PURGE", "PROPFIND", "LOCK", "REPORT"];
const h2Methods = [...h1Methods, "BREW", "X-FUZZ", "get", "QUERY"];

const badSegments = ["%zz", "%FF", "%C3", "%", "%E0%A4%A", "..", "", "%00", "%2F%2F", "{id}", "*", "**", ":", "a:b:c", "%ED%A0%80", "caf%C3%A9", "x".repeat(1000)];
const badValues = ["", "abc", "-", "1.5", "1e400", "NaN", "9".repeat(40), "-99999999999999999999999", "true", "maybe", "GENRE_NOPE", "%zz", "%FF", "\u0000", "null", "{}", "[]"];
const badKeys = ["__proto__", "constructor", "toString", "a..b", ".x", "x.", "zzz", "page_size.x", "1abc", "", "x".repeat(500), "hasOwnProperty", "book.__proto__"];

const enc = new TextEncoder();

/**
 * Generates `count` malformed REST requests across `routes`: random paths and methods; paths of real routes
 * with broken values; unknown, duplicate and mistyped query parameters; broken JSON, wrong types, huge
 * numbers, deep nesting, invalid UTF-8, non-JSON and oversized bodies; and abused headers. Paths shaped like
 * RPC procedures (`/pkg.Service/Method`) are left out: those belong to Connect and gRPC, which answer in
 * their own protocols. HEAD is left out: its answers carry no body to check.
 */
export function generateMalformedRequests(seed: number, count: number, routes: readonly Route[], maxBodyBytes: number): FuzzRequest[] {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const chance = (p: number) => random() < p;

  const randomText = (max: number) => {
    const alphabet = "abcXYZ019-_.~%:/?#[]@!$&'()*+,;= é日\u0000\u007f";
    return Array.from({ length: 1 + int(max) }, () => pick([...alphabet])).join("");
  };

  function routePath(route: Route): string {
    const segments = route.template.segments;
    const parts: string[] = [];
    for (const segment of segments) {
      if (segment.kind === "literal") parts.push(chance(0.05) ? encodeURIComponent(randomText(5)) : segment.value);
      else if (segment.kind === "wildcard") parts.push(chance(0.5) ? pick(badSegments) : encodeURIComponent(pick(badValues)));
      else parts.push(Array.from({ length: int(4) }, () => pick(["a", "b%2Fc", ...badSegments])).join("/"));
    }
    const verb = route.template.verb === undefined ? "" : `:${chance(0.1) ? "nope" : route.template.verb}`;
    return `/${parts.join("/")}${verb}`;
  }

  function fieldsOf(route: Route): DescField[] {
    return route.method.input.fields;
  }

  function badQuery(route: Route): string {
    const pairs: string[] = [];
    const fields = fieldsOf(route);
    for (let i = 0, n = 1 + int(4); i < n; i++) {
      const field = fields.length > 0 && chance(0.6) ? pick(fields) : undefined;
      const key = field ? pick([field.name, field.jsonName]) : pick(badKeys);
      const value = pick(badValues);
      switch (int(5)) {
        case 0:
          pairs.push(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`, `${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
          break;
        case 1:
          pairs.push(`${key}=${pick(["%zz", "%E0%A4%A", "%FF", "%"])}`);
          break;
        case 2:
          pairs.push(`${encodeURIComponent(key)}`, "&&", "=x");
          break;
        case 3:
          pairs.push(`${encodeURIComponent(key)}.x.y=${encodeURIComponent(value)}`);
          break;
        default:
          pairs.push(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
      }
    }
    return pairs.join("&");
  }

  function badBody(route: Route): { body: Uint8Array; contentType?: string } {
    const field = fieldsOf(route).length > 0 ? pick(fieldsOf(route)) : undefined;
    const name = field ? pick([field.name, field.jsonName]) : "x";
    const json = (text: string) => ({ body: enc.encode(text), contentType: "application/json" });
    switch (int(12)) {
      case 0: {
        const valid = JSON.stringify({ [name]: pick(badValues), nested: { a: [1, 2, { b: "c" }] } });
        return json(valid.slice(0, int(valid.length)));
      }
      case 1:
        return json(pick(["{", "[", "nul", "{'a':1}", "{\"a\":}", "{\"a\" 1}", "[1,]", "\"\\q\"", "{}}", "01", "+1", ".5", "{\"a\":\"\u0001\"}"]));
      case 2:
        return json(JSON.stringify({ [name]: pick([[1, 2], { deep: true }, "text", 12.5, -1, true, null, "9".repeat(30)]) }));
      case 3:
        return json(`{"${name}": ${pick(["1e400", "-1e400", "123456789012345678901234567890", "-0.0000000000000000000001e-400", "18446744073709551616"])}}`);
      case 4:
        return { body: new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]), contentType: "application/json" };
      case 5: {
        const depth = 1000 + int(50_000);
        return json(chance(0.5) ? "[".repeat(depth) + "]".repeat(depth) : `{"${name}":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`);
      }
      case 6:
        return json(pick(["[1]", '"s"', "null", "42", "true", "[]"]));
      case 7:
        return json(JSON.stringify({ zzz: 1, __proto__x: 2, [name]: {} }).replace("__proto__x", "__proto__"));
      case 8:
        return json(JSON.stringify({ [name]: "x".repeat(maxBodyBytes + 1 + int(2048)) }));
      case 9:
        return { body: enc.encode(`${name}=1`), contentType: pick(["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/grpc", ";;;"]) };
      case 10:
        return { body: enc.encode(JSON.stringify({ "@type": "type.googleapis.com/nope.Nope", [name]: { "@type": "x" } })), contentType: "application/json" };
      default:
        return json(JSON.stringify({ [name]: null, [`${name}_`]: 1, [name.toUpperCase()]: 2 }));
    }
  }

  function abuseHeaders(headers: Record<string, string>): void {
    switch (int(10)) {
      case 0:
        headers["grpc-timeout"] = pick(["1x", "999999999S", "-5m", "S", "1.5S", " 1S", "1 S"]);
        break;
      case 1:
        headers["connect-timeout-ms"] = pick(["abc", "99999999999", "-1", "1e3", "0x10"]);
        break;
      case 2:
        headers["x-server-timeout"] = pick(["fast", "-1", "1e9", "1,5", "NaN"]);
        break;
      case 3:
        headers["x-request-id"] = pick(["x".repeat(500), "has space", "tab\there", "é"]);
        break;
      case 4:
        headers["content-type"] = pick(["application/json; charset=ebcdic", ";;;", "application/grpc", "application/connect+json", "text/json", "*/*"]);
        break;
      case 5:
        for (let i = 0; i < 60; i++) headers[`x-fuzz-${i}`] = randomText(40).replace(/[^\x21-\x7e ]/g, "a");
        break;
      case 6:
        headers["trace-bin"] = "!!!not base64!!!";
        headers["grpc-status-details-bin"] = "%%%";
        break;
      case 7:
        headers.accept = pick(["text/event-stream;;", "application/xml", "*/*;q=abc", ""]);
        break;
      case 8:
        headers.authorization = pick(["Bearer", "Basic %%%", "x".repeat(2000)]);
        headers.traceparent = pick(["00-zz-zz-01", "garbage", ""]);
        break;
      default:
        headers["connect-protocol-version"] = "1";
        headers["grpc-encoding"] = "gzip";
        headers["content-encoding"] = "br";
    }
  }

  const procedureShaped = /^\/[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/;
  const requests: FuzzRequest[] = [];
  while (requests.length < count) {
    const http2 = chance(0.3);
    const headers: Record<string, string> = {};
    let method: string;
    let path: string;
    let body: Uint8Array | undefined;
    let kind: string;
    if (chance(0.15) || routes.length === 0) {
      kind = "random path";
      method = pick(http2 ? h2Methods : h1Methods);
      path = `/${Array.from({ length: 1 + int(6) }, () => (chance(0.5) ? pick(badSegments) : encodeURIComponent(randomText(12)))).join("/")}`;
      if (chance(0.3)) path += `?${badQuery(pick(routes))}`;
      if (chance(0.3)) {
        const b = badBody(pick(routes));
        body = b.body;
        if (b.contentType) headers["content-type"] = b.contentType;
      }
    } else {
      const route = pick(routes);
      const routeMethod = route.binding.method === "*" ? pick(h1Methods) : route.binding.method;
      method = chance(0.85) ? routeMethod : pick(http2 ? h2Methods : h1Methods);
      path = routePath(route);
      const mutations = 1 + int(3);
      kind = "route";
      for (let m = 0; m < mutations; m++) {
        const which = int(3);
        if (which === 0) {
          path += `${path.includes("?") ? "&" : "?"}${badQuery(route)}`;
          kind += "+query";
        } else if (which === 1) {
          const b = badBody(route);
          body = b.body;
          if (b.contentType) headers["content-type"] = b.contentType;
          kind += "+body";
        } else {
          abuseHeaders(headers);
          kind += "+headers";
        }
      }
    }
    if (procedureShaped.test(path.split("?")[0]!) || method === "HEAD") continue;
    if (!http2 && !h1Methods.includes(method)) method = "GET";
    requests.push({ kind, http2, method, path, headers, body });
  }
  return requests;
}
