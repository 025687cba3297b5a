import type { IncomingHttpHeaders } from "node:http";

/** What a field name must be (an HTTP token), as web Headers check it. */
const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Web Headers refuse these in a value, and code points above U+00FF (a header value is bytes). */
const forbiddenInValue = /[\0\r\n]|[^\x00-\xff]/;
/** Leading and trailing HTTP whitespace, which web Headers strip from values. */
const edgeWhitespace = /^[\t\n\r ]+|[\t\n\r ]+$/g;

function checkedName(name: string): string {
  const key = String(name).toLowerCase();
  if (!token.test(key)) throw new TypeError(`Headers: invalid header name "${name}"`);
  return key;
}

function checkedValue(value: string): string {
  const normalized = String(value).replace(edgeWhitespace, "");
  if (forbiddenInValue.test(normalized)) throw new TypeError(`Headers: invalid header value "${value}"`);
  return normalized;
}

/**
 * The web `Headers` of one call, without the cost of undici's: each of its operations converts and validates
 * through WebIDL, which made a few Headers per call a visible share of a cached read's CPU. Request headers
 * are read straight from Node's already-validated header object until someone changes them; names and
 * values that are set are validated as web Headers validate them. It is an instance of `Headers` (its
 * prototype chain says so) and implements all of its methods, so interceptors and connect-es treat it as one.
 */
class CallHeaders {
  /** Node's request headers (lowercase names; pseudo-headers skipped), until the first change. */
  #source: IncomingHttpHeaders | undefined;
  #map: Map<string, string> | undefined;
  #setCookies: string[] | undefined;

  constructor(source: IncomingHttpHeaders | undefined, init: Record<string, string> | undefined) {
    this.#source = source;
    if (init !== undefined) {
      this.#map = new Map();
      for (const key in init) this.#map.set(checkedName(key), checkedValue(init[key]!));
    }
  }

  #entries(): Map<string, string> {
    if (this.#map !== undefined) return this.#map;
    const map = new Map<string, string>();
    const source = this.#source;
    this.#source = undefined;
    for (const key in source) {
      if (key.charCodeAt(0) === 58 /* ":" */) continue;
      const value = source[key];
      if (typeof value !== "string" && !Array.isArray(value)) continue;
      if (key === "set-cookie" && Array.isArray(value)) this.#setCookies = [...value];
      map.set(key, Array.isArray(value) ? value.join(", ") : value);
    }
    return (this.#map = map);
  }

  get(name: string): string | null {
    const key = String(name).toLowerCase();
    if (this.#map !== undefined) return this.#map.get(key) ?? null;
    if (key.charCodeAt(0) === 58) return null;
    const value = this.#source?.[key];
    // Typed, as a plain object's prototype answers names such as "constructor".
    return typeof value === "string" ? value : Array.isArray(value) ? value.join(", ") : null;
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  set(name: string, value: string): void {
    const key = checkedName(name);
    const normalized = checkedValue(value);
    this.#entries().set(key, normalized);
    if (key === "set-cookie") this.#setCookies = [normalized];
  }

  append(name: string, value: string): void {
    const key = checkedName(name);
    const normalized = checkedValue(value);
    const map = this.#entries();
    const known = map.get(key);
    map.set(key, known === undefined ? normalized : `${known}, ${normalized}`);
    if (key === "set-cookie") (this.#setCookies ??= []).push(normalized);
  }

  delete(name: string): void {
    const key = String(name).toLowerCase();
    this.#entries().delete(key);
    if (key === "set-cookie") this.#setCookies = undefined;
  }

  getSetCookie(): string[] {
    const map = this.#entries();
    return this.#setCookies !== undefined ? [...this.#setCookies] : map.has("set-cookie") ? [map.get("set-cookie")!] : [];
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [key, value] of this.#entries()) callback.call(thisArg, value, key, this as unknown as Headers);
  }

  keys(): MapIterator<string> {
    return this.#entries().keys();
  }

  values(): MapIterator<string> {
    return this.#entries().values();
  }

  entries(): MapIterator<[string, string]> {
    return this.#entries().entries();
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.#entries().entries();
  }

  get [Symbol.toStringTag](): string {
    return "Headers";
  }
}
Object.setPrototypeOf(CallHeaders.prototype, Headers.prototype);

/** A call's request headers, read from Node's header object (which must not change afterwards). */
export function requestHeadersOf(headers: IncomingHttpHeaders): Headers {
  return new CallHeaders(headers, undefined) as unknown as Headers;
}

/** Headers for a call's response, such as `{ "content-type": "application/grpc+proto" }`. */
export function callHeaders(init?: Record<string, string>): Headers {
  return new CallHeaders(undefined, init ?? {}) as unknown as Headers;
}

/** The headers as an object for Node's writeHead/respond. */
export function headerObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}
