import http2 from "node:http2";
import { create, toJson, type DescMethod, type DescService, type JsonValue, type Message } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../../../gen/google/rpc/error_details_pb.ts";
import { startRestHarness, type Responder, type RestHarness } from "./test-support/rest-harness.ts";
import { send, send2, type SentRequest } from "./test-support/send.ts";
import { buildDescriptorSet, type BuiltDescriptorSet } from "./test-support/test-protos.ts";

const requestId = "req-test-1";
const requestInfo = { "@type": "type.googleapis.com/google.rpc.RequestInfo", requestId };

let set: BuiltDescriptorSet;
const harnesses = new Map<string, RestHarness>();
const service = (name: string): DescService => set.registry.getService(name)!;

const exampleServices = ["MessagingByName", "MessagingWithQuery", "MessagingUpdateField", "MessagingUpdateStar", "MessagingBindings"];
const library = "transcode.library.v1.LibraryService";

beforeAll(async () => {
  set = await buildDescriptorSet();
  for (const name of exampleServices) {
    harnesses.set(name, await startRestHarness([service(`transcode.examples.v1.${name}`)]));
  }
  harnesses.set(library, await startRestHarness([service(library)], { deadline: { defaultMs: 30_000, maxMs: 60_000 } }));
  harnesses.set("lenient", await startRestHarness([service(library)], { unknownQueryParams: "ignore", unknownJsonFields: "ignore" }));
  harnesses.set("small", await startRestHarness([service(library)], { maxBodyBytes: 64 }));
});

afterAll(async () => {
  for (const h of harnesses.values()) await h.close();
  await set.remove();
});

/** Builds a response of the method's output type from proto3 JSON-ish init fields. */
const reply = (method: DescMethod, init: Record<string, unknown>): Message => create(method.output, init as never);

/** The library's default upstream: each RPC answers something recognisable. */
const libraryResponder: Responder = (method, request) => {
  const req = request as unknown as Record<string, unknown>;
  switch (method.name) {
    case "GetBook":
      return reply(method, {
        name: req.name,
        title: "Dune",
        genre: 1,
        pages: 412n,
        publishTime: timestampFromDate(new Date("1965-08-01T00:00:00Z")),
      });
    case "ListTitles":
      return reply(method, { titles: req.shelf === "empty" ? [] : ["Dune", "Emma"], count: 2 });
    case "GetShelfName":
      return reply(method, { name: req.shelf, theme: "sf" });
    case "Download":
      return reply(method, { contentType: "text/csv", data: new TextEncoder().encode("a,b\n1,2\n") });
    case "DownloadStream":
      return (async function* () {
        for (const line of ["a,b\n", "1,2\n", "3,4\n"]) yield reply(method, { contentType: "text/csv", data: new TextEncoder().encode(line) });
        if (req.id === "cut") throw new ConnectError("disk gone", Code.DataLoss);
      })();
    case "Upload": {
      const file = req.file as { contentType: string; data: Uint8Array };
      return reply(method, { size: BigInt(file.data.byteLength), contentType: file.contentType });
    }
    case "Fail": {
      const code = req.code as Code;
      if (code === Code.InvalidArgument) {
        throw new ConnectError("title: must not be empty", code, undefined, [
          { desc: BadRequestSchema, value: { fieldViolations: [{ field: "title", description: "must not be empty" }] } },
          { desc: ErrorInfoSchema, value: { reason: "EMPTY_TITLE", domain: "library.test", metadata: { field: "title" } } },
        ]);
      }
      throw new ConnectError(`failed with ${code}`, code);
    }
    case "WatchShelf":
      return (async function* () {
        for (let i = 1; i <= Number(req.count); i++) yield reply(method, { sequence: i, book: { name: `shelves/${String(req.shelf)}/books/${i}` } });
        if (req.failCode) throw new ConnectError("the shelf burned down", Number(req.failCode) as Code);
      })();
    case "Echo":
    case "Anything":
    case "GetNumber":
    case "SetNote":
    case "SetTags":
    case "Everything":
      return create(method.output, request as never);
    default:
      return reply(method, {});
  }
};

interface Case {
  /** Test name. */
  name: string;
  /** Which harness: an example service's name, "lenient", "small", or the library (default). */
  on?: string;
  request: SentRequest;
  /** The request the upstream must receive, as proto3 JSON; undefined when no call may reach it. */
  upstream?: JsonValue;
  /** The RPC the upstream must see called. */
  rpc?: string;
  respond?: Responder;
  status: number;
  /** The exact JSON body. */
  json?: unknown;
  /** Or the exact text body. */
  text?: string;
  headers?: Record<string, string>;
}

const json = (body: unknown): Pick<SentRequest, "body" | "headers"> => ({
  body: JSON.stringify(body),
  headers: { "content-type": "application/json" },
});

const badRequest = (field: string, description: string) => ({
  code: 3,
  message: `${field}: ${description}`,
  details: [{ "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ field, description }] }, requestInfo],
});

const httpProtoExamples: Case[] = [
  {
    name: "http.proto: GET /v1/messages/123456 → GetMessage(name: \"messages/123456\")",
    on: "MessagingByName",
    request: { path: "/v1/messages/123456" },
    respond: (m) => reply(m, { text: "Hi!" }),
    upstream: { name: "messages/123456" },
    status: 200,
    json: { text: "Hi!" },
  },
  {
    name: "http.proto: GET /v1/messages/123456?revision=2&sub.subfield=foo",
    on: "MessagingWithQuery",
    request: { path: "/v1/messages/123456?revision=2&sub.subfield=foo" },
    upstream: { messageId: "123456", revision: "2", sub: { subfield: "foo" } },
    status: 200,
    json: {},
  },
  {
    name: "http.proto: PATCH /v1/messages/123456 { \"text\": \"Hi!\" } with body: \"message\"",
    on: "MessagingUpdateField",
    request: { method: "PATCH", path: "/v1/messages/123456", ...json({ text: "Hi!" }) },
    respond: (m, r) => reply(m, { text: (r as unknown as { message: { text: string } }).message.text }),
    upstream: { messageId: "123456", message: { text: "Hi!" } },
    status: 200,
    json: { text: "Hi!" },
  },
  {
    name: "http.proto: PATCH /v1/messages/123456 { \"text\": \"Hi!\" } with body: \"*\"",
    on: "MessagingUpdateStar",
    request: { method: "PATCH", path: "/v1/messages/123456", ...json({ text: "Hi!" }) },
    respond: (m, r) => create(m.output, r as never),
    upstream: { messageId: "123456", text: "Hi!" },
    status: 200,
    json: { messageId: "123456", text: "Hi!" },
  },
  {
    name: "http.proto: GET /v1/messages/123456 (primary binding)",
    on: "MessagingBindings",
    request: { path: "/v1/messages/123456" },
    upstream: { messageId: "123456" },
    status: 200,
    json: {},
  },
  {
    name: "http.proto: GET /v1/users/me/messages/123456 (additional binding)",
    on: "MessagingBindings",
    request: { path: "/v1/users/me/messages/123456" },
    upstream: { messageId: "123456", userId: "me" },
    status: 200,
    json: {},
  },
  {
    name: "http.proto: with body \"*\" there are no query parameters",
    on: "MessagingUpdateStar",
    request: { method: "PATCH", path: "/v1/messages/123456?text=x", ...json({}) },
    status: 400,
    json: badRequest("text", "unknown: every field of this route comes from the path or the body (query parameter)"),
  },
];

const pathCases: Case[] = [
  {
    name: "multi-segment variable",
    request: { path: "/v1/shelves/1/books/2" },
    rpc: "GetBook",
    upstream: { name: "shelves/1/books/2" },
    status: 200,
    json: { name: "shelves/1/books/2", title: "Dune", genre: "GENRE_FICTION", pages: "412", publishTime: "1965-08-01T00:00:00Z" },
  },
  {
    name: "multi-segment variable: decoded except %2F and %2f",
    request: { path: "/v1/shelves/a%2Fb/books/caf%C3%A9%20au%20lait%2f2" },
    rpc: "GetBook",
    upstream: { name: "shelves/a%2Fb/books/café au lait%2f2" },
    status: 200,
  },
  {
    name: "single-segment variable: fully decoded, %2F included",
    request: { path: "/v1/shelves/a%2Fb%3Ac%20d" },
    rpc: "GetShelf",
    upstream: { shelf: "a/b:c d" },
    status: 200,
  },
  {
    name: "nested field path {book.name=…} merged with the body",
    request: { method: "PATCH", path: "/v1/shelves/s1/books/b1?updateMask=title,author", ...json({ name: "ignored", title: "New", author: "Me" }) },
    rpc: "UpdateBook",
    upstream: { book: { name: "shelves/s1/books/b1", title: "New", author: "Me" }, updateMask: "title,author" },
    status: 200,
  },
  {
    name: "additional binding PUT of the same RPC",
    request: { method: "PUT", path: "/v1/shelves/s1/books/b1", ...json({ title: "New" }) },
    rpc: "UpdateBook",
    upstream: { book: { name: "shelves/s1/books/b1", title: "New" } },
    status: 200,
  },
  {
    name: "custom verb :undelete with body \"*\"",
    request: { method: "POST", path: "/v1/shelves/s/books/b:undelete", ...json({ reason: "oops" }) },
    rpc: "UndeleteBook",
    upstream: { name: "shelves/s/books/b", reason: "oops" },
    status: 200,
  },
  {
    name: "custom HTTP method SEARCH",
    request: { method: "SEARCH", path: "/v1/books", ...json({ query: "dune" }) },
    rpc: "SearchBooks",
    upstream: { query: "dune" },
    status: 200,
  },
  {
    name: "custom rule with kind \"*\" accepts any method",
    request: { method: "PURGE", path: "/v1/echo/hello%20world" },
    rpc: "Echo",
    upstream: { text: "hello world" },
    status: 200,
    json: { text: "hello world" },
  },
  {
    name: "a literal beats a variable",
    request: { path: "/v1/shelves/special" },
    rpc: "GetSpecialShelf",
    upstream: {},
    status: 200,
  },
  {
    name: "** captures the rest, %2F kept",
    request: { path: "/v1/files/a/b%2Fc/d.txt" },
    rpc: "GetFile",
    upstream: { path: "a/b%2Fc/d.txt" },
    status: 200,
  },
  {
    name: "** followed by a verb",
    request: { path: "/v1/files/docs/readme:info" },
    rpc: "GetFileInfo",
    upstream: { path: "docs/readme" },
    status: 200,
  },
  {
    name: "an unnamed * segment is matched but not passed on",
    request: { path: "/v1/any/whatever/thing" },
    rpc: "Anything",
    upstream: {},
    status: 200,
  },
  {
    name: "int64 and enum (by name) path variables",
    request: { path: "/v1/numbers/-9223372036854775808/GENRE_POETRY" },
    rpc: "GetNumber",
    upstream: { value: "-9223372036854775808", genre: "GENRE_POETRY" },
    status: 200,
    json: { value: "-9223372036854775808", genre: "GENRE_POETRY" },
  },
  {
    name: "enum path variable by number",
    request: { path: "/v1/numbers/7/2" },
    upstream: { value: "7", genre: "GENRE_HISTORY" },
    status: 200,
  },
  {
    name: "a path variable of the wrong type",
    request: { path: "/v1/numbers/seven/2" },
    status: 400,
    json: badRequest("value", 'expected an int64, got "seven" (path variable)'),
  },
  {
    name: "an unknown enum name in the path",
    request: { path: "/v1/numbers/7/GENRE_NOPE" },
    status: 400,
    json: badRequest("genre", 'expected a Genre name (GENRE_UNSPECIFIED, GENRE_FICTION, GENRE_HISTORY, GENRE_POETRY) or number, got "GENRE_NOPE" (path variable)'),
  },
];

const queryCases: Case[] = [
  {
    name: "scalars, repeated keys, enums by name and number, nested paths, oneof, WKT scalar forms, both name forms",
    request: {
      path:
        "/v1/shelves/s1/books?pageSize=10&filter=a+b%26c&genres=GENRE_FICTION&genres=2&tags=x&tags=y" +
        "&since=2024-01-31T12:00:00Z&max_age=1.5s&readMask=title,author&min_pages=100&inPrint=false" +
        "&options.include_drafts=true&options.paging.size=5&by_title=true&ids=9007199254740993&ids=-1",
    },
    rpc: "ListBooks",
    upstream: {
      parent: "shelves/s1",
      pageSize: 10,
      filter: "a b&c",
      genres: ["GENRE_FICTION", "GENRE_HISTORY"],
      tags: ["x", "y"],
      since: "2024-01-31T12:00:00Z",
      maxAge: "1.500s",
      readMask: "title,author",
      minPages: "100",
      inPrint: false,
      options: { includeDrafts: true, paging: { size: 5 } },
      byTitle: true,
      ids: ["9007199254740993", "-1"],
    },
    status: 200,
  },
  {
    name: "every scalar and wrapper from the query",
    request: {
      path:
        "/v1/everything?fDouble=1.5&f_float=NaN&fInt32=-3&fInt64=9223372036854775807&fUint32=4294967295&fUint64=18446744073709551615" +
        "&fSint32=-4&fSint64=-5&fFixed32=6&fFixed64=7&fSfixed32=-8&fSfixed64=-9&fBool=true&fString=%F0%9F%93%9A&fBytes=aGk_Pz8" +
        "&fEnum=3&fTimestamp=2024-01-31T12:00:00.5%2B01:00&fDuration=-2s&fFieldMask=a.b,c&wDouble=-Infinity&wFloat=1e3&wInt64=-1" +
        "&wUint64=2&wInt32=3&wUint32=4&wBool=false&wString=&wBytes=AA%3D%3D&rInt64=1&rInt64=2&rEnum=GENRE_POETRY&rEnum=0&book.pages=12",
    },
    rpc: "Everything",
    upstream: {
      fDouble: 1.5,
      fFloat: "NaN",
      fInt32: -3,
      fInt64: "9223372036854775807",
      fUint32: 4294967295,
      fUint64: "18446744073709551615",
      fSint32: -4,
      fSint64: "-5",
      fFixed32: 6,
      fFixed64: "7",
      fSfixed32: -8,
      fSfixed64: "-9",
      fBool: true,
      fString: "📚",
      fBytes: "aGk/Pz8=",
      fEnum: "GENRE_POETRY",
      fTimestamp: "2024-01-31T11:00:00.500Z",
      fDuration: "-2s",
      fFieldMask: "a.b,c",
      wDouble: "-Infinity",
      wFloat: 1000,
      wInt64: "-1",
      wUint64: "2",
      wInt32: 3,
      wUint32: 4,
      wBool: false,
      wString: "",
      wBytes: "AA==",
      rInt64: ["1", "2"],
      rEnum: ["GENRE_POETRY", "GENRE_UNSPECIFIED"],
      book: { pages: "12" },
    },
    status: 200,
  },
  {
    name: "fields of the body are not query parameters",
    request: { method: "POST", path: "/v1/shelves/s1/books?requestId=r1&book.title=x", ...json({ title: "T" }) },
    status: 400,
    json: badRequest("book.title", "unknown: book comes from the body (query parameter)"),
  },
  {
    name: "fields of the path are not query parameters",
    request: { path: "/v1/shelves/s1/books?parent=shelves/s2" },
    status: 400,
    json: badRequest("parent", "unknown: the field is bound by the path (query parameter)"),
  },
  {
    name: "an unknown query parameter is a 400",
    request: { path: "/v1/shelves/s1/books?pageSize=1&colour=red" },
    status: 400,
    json: badRequest("colour", 'unknown: transcode.library.v1.ListBooksRequest has no field "colour" (query parameter)'),
  },
  {
    name: "an unknown query parameter is skipped when configured so",
    on: "lenient",
    request: { path: "/v1/shelves/s1/books?pageSize=1&colour=red&options.nope=1" },
    upstream: { parent: "shelves/s1", pageSize: 1 },
    status: 200,
  },
  {
    name: "a non-repeated parameter given twice",
    request: { path: "/v1/shelves/s1/books?pageSize=1&page_size=2" },
    status: 400,
    json: badRequest("page_size", "given 2 times, but page_size is not repeated (query parameter)"),
  },
  {
    name: "an int32 out of range",
    request: { path: "/v1/shelves/s1/books?pageSize=2147483648" },
    status: 400,
    json: badRequest("pageSize", 'expected an int32, got "2147483648" (query parameter)'),
  },
  {
    name: "a bool that is not true or false",
    request: { path: "/v1/everything?fBool=yes" },
    status: 400,
    json: badRequest("fBool", 'expected true or false, got "yes" (query parameter)'),
  },
  {
    name: "a malformed timestamp",
    request: { path: "/v1/shelves/s1/books?since=yesterday" },
    status: 400,
    json: badRequest("since", 'expected an RFC 3339 timestamp such as 2024-01-31T12:00:00Z, got "yesterday" (query parameter)'),
  },
  {
    name: "two members of one oneof",
    request: { path: "/v1/shelves/s1/books?by_title=true&byAuthor=true" },
    status: 400,
    json: badRequest("byAuthor", "by_author and by_title are both members of oneof sort; set only one (query parameter)"),
  },
  {
    name: "a message-typed parameter",
    request: { path: "/v1/shelves/s1/books?options=1" },
    status: 400,
    json: badRequest("options", "unsupported: options is a message; set its fields as options.<field> (query parameter)"),
  },
  {
    name: "repeated messages and maps are not settable from the query",
    request: { path: "/v1/everything?books=1" },
    status: 400,
    json: badRequest("books", "unsupported: repeated message field books cannot be set from the query (query parameter)"),
  },
  {
    name: "malformed percent-encoding in the query",
    request: { path: "/v1/shelves/s1/books?filter=%E0%A4%A" },
    status: 400,
    json: badRequest("query", '"filter=%E0%A4%A" has a malformed percent-encoding or is not UTF-8'),
  },
];

const bodyCases: Case[] = [
  {
    name: "body: field, plus a query parameter, both name forms in the body",
    request: { method: "POST", path: "/v1/shelves/s1/books?request_id=r1", ...json({ title: "T", publish_time: "2020-01-01T00:00:00Z", pages: 9 }) },
    rpc: "CreateBook",
    upstream: { parent: "shelves/s1", book: { title: "T", pages: "9", publishTime: "2020-01-01T00:00:00Z" }, requestId: "r1" },
    status: 200,
  },
  {
    name: "body: \"*\" with every kind of field; int64 beyond 2^53 stay exact",
    request: {
      method: "POST",
      path: "/v1/everything",
      body:
        '{"f_int64": 9223372036854775807, "fUint64": 18446744073709551615, "rInt64": [9007199254740993, "-2"], ' +
        '"mInt64": {"k": 9007199254740993}, "wInt64": 9007199254740993, "value": {"n": 12345678901234567890, "s": "x"}, ' +
        '"struct": {"a": [1, true, null]}, "fEnum": 2, "rEnum": ["GENRE_FICTION", 3], "fBytes": "aGk=", "book": {"title": "B"}, ' +
        '"books": [{"pages": "1"}], "wBool": false, "fDuration": "3.000000001s"}',
      headers: { "content-type": "application/json; charset=utf-8" },
    },
    rpc: "Everything",
    upstream: {
      fInt64: "9223372036854775807",
      fUint64: "18446744073709551615",
      rInt64: ["9007199254740993", "-2"],
      mInt64: { k: "9007199254740993" },
      wInt64: "9007199254740993",
      value: { n: 12345678901234567000, s: "x" },
      struct: { a: [1, true, null] },
      fEnum: "GENRE_HISTORY",
      rEnum: ["GENRE_FICTION", "GENRE_POETRY"],
      fBytes: "aGk=",
      book: { title: "B" },
      books: [{ pages: "1" }],
      wBool: false,
      fDuration: "3.000000001s",
    },
    status: 200,
  },
  {
    name: "body: a scalar field (the JSON body is a string)",
    request: { method: "PUT", path: "/v1/notes/n1", ...json("hello") },
    upstream: { id: "n1", text: "hello" },
    status: 200,
    json: { id: "n1", text: "hello" },
  },
  {
    name: "body: a repeated field (the JSON body is an array)",
    request: { method: "PUT", path: "/v1/tags/t1", ...json(["a", "b"]) },
    upstream: { id: "t1", tags: ["a", "b"] },
    status: 200,
  },
  {
    name: "an empty body is an empty message",
    request: { method: "POST", path: "/v1/shelves/s1/books", headers: { "content-type": "application/json" } },
    upstream: { parent: "shelves/s1" },
    status: 200,
  },
  {
    name: "no Content-Type is taken as JSON",
    request: { method: "POST", path: "/v1/shelves/s1/books", body: '{"title":"T"}' },
    upstream: { parent: "shelves/s1", book: { title: "T" } },
    status: 200,
  },
  {
    name: "a vendor +json type is JSON",
    request: { method: "POST", path: "/v1/shelves/s1/books", body: "{}", headers: { "content-type": "application/vnd.library+json" } },
    upstream: { parent: "shelves/s1", book: {} },
    status: 200,
  },
  {
    name: "a non-JSON body is a 415",
    request: { method: "POST", path: "/v1/shelves/s1/books", body: "title=T", headers: { "content-type": "application/x-www-form-urlencoded" } },
    status: 415,
    json: {
      code: 3,
      message: 'the request body must be JSON (Content-Type: application/json), not "application/x-www-form-urlencoded"',
      details: [requestInfo],
    },
  },
  {
    name: "JSON in another charset is a 415",
    request: { method: "POST", path: "/v1/shelves/s1/books", body: "{}", headers: { "content-type": "application/json; charset=latin1" } },
    status: 415,
    json: { code: 3, message: 'the request body must be JSON (Content-Type: application/json), not "application/json; charset=latin1"', details: [requestInfo] },
  },
  {
    name: "malformed JSON says where",
    request: { method: "POST", path: "/v1/shelves/s1/books", body: '{\n  "title": "T",\n  "pages": ,\n}', headers: { "content-type": "application/json" } },
    status: 400,
    json: badRequest("body", 'malformed JSON: unexpected ",", expected a value at line 3, column 12'),
  },
  {
    name: "invalid UTF-8 in the body",
    request: { method: "POST", path: "/v1/shelves/s1/books", body: new Uint8Array([0x7b, 0x22, 0x74, 0xc0, 0x22, 0x3a, 0x31, 0x7d]) },
    status: 400,
    json: badRequest("body", "malformed JSON: invalid UTF-8 at byte 3"),
  },
  {
    name: "an unknown field in the body",
    request: { method: "POST", path: "/v1/shelves/s1/books", ...json({ title: "T", colour: "red" }) },
    status: 400,
    json: badRequest("book", 'cannot decode message transcode.library.v1.Book from JSON: key "colour" is unknown'),
  },
  {
    name: "an unknown field in the body is skipped when configured so",
    on: "lenient",
    request: { method: "POST", path: "/v1/shelves/s1/books", ...json({ title: "T", colour: "red" }) },
    upstream: { parent: "shelves/s1", book: { title: "T" } },
    status: 200,
  },
  {
    name: "a wrong type in the body",
    request: { method: "POST", path: "/v1/everything", ...json({ fInt32: "many" }) },
    status: 400,
    json: badRequest("body", 'cannot decode field transcode.library.v1.AllTypes.f_int32 from JSON: expected number (int32), got "many"'),
  },
  {
    name: "a number too large for its field",
    request: { method: "POST", path: "/v1/everything", body: '{"fInt64": 1e40}', headers: { "content-type": "application/json" } },
    status: 400,
    json: badRequest("body", "cannot decode field transcode.library.v1.AllTypes.f_int64 from JSON: expected bigint (int64): 1e+40 out of range"),
  },
  {
    name: "a body that is not an object for body \"*\"",
    request: { method: "POST", path: "/v1/everything", ...json([1, 2]) },
    status: 400,
    json: badRequest("body", "expected a JSON object for transcode.library.v1.AllTypes"),
  },
  {
    name: "a body on a route without one",
    request: { method: "DELETE", path: "/v1/shelves/s/books/b", ...json({ force: true }) },
    status: 400,
    json: badRequest("body", "DELETE /v1/{name=shelves/*/books/*} takes no request body; send the fields as query parameters"),
  },
  {
    name: "a body too large is a 413",
    on: "small",
    request: { method: "POST", path: "/v1/shelves/s1/books", ...json({ title: "x".repeat(100) }) },
    status: 413,
    json: { code: 8, message: "the request body is larger than 64 bytes", details: [requestInfo] },
  },
  {
    name: "HttpBody request: the raw bytes and their content type",
    request: { method: "POST", path: "/v1/uploads/u1", body: new Uint8Array([0x89, 0x50, 0x4e, 0x47]), headers: { "content-type": "image/png" } },
    rpc: "Upload",
    upstream: { id: "u1", file: { contentType: "image/png", data: "iVBORw==" } },
    status: 200,
    json: { size: "4", contentType: "image/png" },
  },
];

const responseCases: Case[] = [
  {
    name: "response_body of a repeated field",
    request: { path: "/v1/shelves/s1/titles" },
    status: 200,
    json: ["Dune", "Emma"],
  },
  {
    name: "response_body of an empty repeated field is []",
    request: { path: "/v1/shelves/empty/titles" },
    status: 200,
    json: [],
  },
  {
    name: "response_body of a scalar",
    request: { path: "/v1/shelves/s1/name" },
    status: 200,
    json: "s1",
  },
  {
    name: "HttpBody response: raw bytes with their content type",
    request: { path: "/v1/downloads/d1" },
    status: 200,
    text: "a,b\n1,2\n",
    headers: { "content-type": "text/csv" },
  },
];

const gatewayErrorCases: Case[] = [
  {
    name: "unknown route: 404",
    request: { path: "/v1/nothing/here" },
    status: 404,
    json: { code: 5, message: "no route for GET /v1/nothing/here", details: [requestInfo] },
  },
  {
    name: "wrong method: 405 with Allow",
    request: { method: "DELETE", path: "/v1/shelves/s1/books" },
    status: 405,
    json: { code: 12, message: "DELETE is not allowed on /v1/shelves/s1/books; use GET, POST", details: [requestInfo] },
    headers: { allow: "GET, POST" },
  },
  {
    name: "malformed percent-encoding in the path",
    request: { path: "/v1/shelves/%E0%A4%A" },
    status: 400,
    json: badRequest("path", "the path has a malformed percent-encoding or is not UTF-8"),
  },
  {
    name: "a malformed deadline header",
    request: { path: "/v1/shelves/s1", headers: { "grpc-timeout": "soon" } },
    status: 400,
    json: badRequest("grpc-timeout", "expected 1 to 8 digits and a unit H, M, S, m, u or n, such as 500m"),
  },
];

/** Every code of the table, raised by the upstream. */
const codeTable: Array<[Code, number]> = [
  [Code.InvalidArgument, 400],
  [Code.FailedPrecondition, 400],
  [Code.OutOfRange, 400],
  [Code.Unauthenticated, 401],
  [Code.PermissionDenied, 403],
  [Code.NotFound, 404],
  [Code.AlreadyExists, 409],
  [Code.Aborted, 409],
  [Code.ResourceExhausted, 429],
  [Code.Canceled, 499],
  [Code.Unknown, 500],
  [Code.Internal, 500],
  [Code.DataLoss, 500],
  [Code.Unimplemented, 501],
  [Code.Unavailable, 503],
  [Code.DeadlineExceeded, 504],
];

const upstreamErrorCases: Case[] = codeTable.map(([code, status]) => ({
  name: `upstream ${Code[code]} → HTTP ${status}`,
  request: { path: `/v1/fail/${code}` },
  upstream: { code },
  status,
  json:
    code === Code.InvalidArgument
      ? {
          code,
          message: "title: must not be empty",
          details: [
            { "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ field: "title", description: "must not be empty" }] },
            { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "EMPTY_TITLE", domain: "library.test", metadata: { field: "title" } },
            requestInfo,
          ],
        }
      : { code, message: `failed with ${code}`, details: [requestInfo] },
}));

describe("REST transcoding, rule by rule", () => {
  beforeEach(() => {
    for (const h of harnesses.values()) {
      h.calls.length = 0;
      h.respond(libraryResponder);
    }
  });

  it.each([...httpProtoExamples, ...pathCases, ...queryCases, ...bodyCases, ...responseCases, ...gatewayErrorCases, ...upstreamErrorCases])(
    "$name",
    async (c) => {
      const h = harnesses.get(c.on ?? library)!;
      if (c.respond) h.respond(c.respond);
      const res = await send(h.url, { ...c.request, headers: { "x-request-id": requestId, ...c.request.headers } });
      if (c.json !== undefined) expect({ status: res.status, json: res.json() }).toEqual({ status: c.status, json: c.json });
      else if (c.text !== undefined) expect({ status: res.status, text: res.text() }).toEqual({ status: c.status, text: c.text });
      else expect(res.status, res.text()).toBe(c.status);
      expect(res.headers["x-request-id"]).toBe(requestId);
      for (const [name, value] of Object.entries(c.headers ?? {})) expect(res.headers[name]).toBe(value);
      if (c.upstream === undefined) {
        if (c.status >= 400 && c.status !== 499 && c.status < 500 && !c.name.startsWith("upstream")) expect(h.calls).toEqual([]);
        return;
      }
      expect(h.calls).toHaveLength(1);
      const call = h.calls[0]!;
      if (c.rpc) expect(call.method.name).toBe(c.rpc);
      expect(toJson(call.method.input, call.request)).toEqual(c.upstream);
    },
  );
});

describe("headers and deadlines", () => {
  beforeEach(() => {
    for (const h of harnesses.values()) {
      h.calls.length = 0;
      h.respond(libraryResponder);
    }
  });

  it("forwards end-to-end headers, drops hop-by-hop ones, and returns response metadata as headers", async () => {
    const h = harnesses.get(library)!;
    h.respond((method, _req, ctx) => {
      ctx.responseHeader.set("x-upstream-header", "a");
      ctx.responseTrailer.set("x-upstream-trailer", "b");
      return reply(method, { name: "s" });
    });
    const res = await send(h.url, {
      path: "/v1/shelves/s",
      headers: {
        authorization: "Bearer t0k3n",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        tracestate: "vendor=1",
        "idempotency-key": "k-1",
        "x-request-id": requestId,
        "x-tenant": "acme",
        connection: "x-private",
        "x-private": "hop",
        "grpc-status": "0",
        "connect-protocol-version": "1",
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers["x-upstream-header"]).toBe("a");
    expect(res.headers["x-upstream-trailer"]).toBe("b");
    expect(res.headers["x-request-id"]).toBe(requestId);
    const sent = h.calls[0]!.headers;
    expect(Object.fromEntries(["authorization", "traceparent", "tracestate", "idempotency-key", "x-request-id", "x-tenant"].map((n) => [n, sent.get(n)]))).toEqual({
      authorization: "Bearer t0k3n",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      tracestate: "vendor=1",
      "idempotency-key": "k-1",
      "x-request-id": requestId,
      "x-tenant": "acme",
    });
    expect(sent.get("x-private")).toBeNull();
    expect(sent.get("x-forwarded-for")).toBe("127.0.0.1");
    expect(sent.get("grpc-status")).toBeNull();
  });

  it("generates X-Request-Id when the client sends none, and returns it", async () => {
    const h = harnesses.get(library)!;
    const res = await send(h.url, { path: "/v1/shelves/s" });
    const id = res.headers["x-request-id"];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.calls[0]!.headers.get("x-request-id")).toBe(id);
  });

  it.each([
    ["grpc-timeout", "2S", 2000],
    ["connect-timeout-ms", "1500", 1500],
    ["x-server-timeout", "0.75", 750],
    ["grpc-timeout", "1H", 60_000],
  ])("translates %s: %s into an upstream deadline of at most %d ms (capped at 60 s)", async (name, value, atMost) => {
    const h = harnesses.get(library)!;
    await send(h.url, { path: "/v1/shelves/s", headers: { [name]: value } });
    const timeoutMs = h.calls[0]!.timeoutMs;
    expect(timeoutMs).toBeGreaterThan(0);
    expect(timeoutMs).toBeLessThanOrEqual(atMost);
  });

  it("gives unary calls without a deadline the default one", async () => {
    const h = harnesses.get(library)!;
    await send(h.url, { path: "/v1/shelves/s" });
    expect(h.calls[0]!.timeoutMs).toBeLessThanOrEqual(30_000);
    expect(h.calls[0]!.timeoutMs).toBeGreaterThan(0);
  });
});

describe("server streaming", () => {
  beforeEach(() => {
    for (const h of harnesses.values()) {
      h.calls.length = 0;
      h.respond(libraryResponder);
    }
  });

  it("streams NDJSON by default: one {\"result\"} per line", async () => {
    const res = await send(harnesses.get(library)!.url, { path: "/v1/shelves/s1:watch?count=2", headers: { "x-request-id": requestId } });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/x-ndjson; charset=utf-8");
    expect(res.text()).toBe(
      '{"result":{"sequence":1,"book":{"name":"shelves/s1/books/1"}}}\n{"result":{"sequence":2,"book":{"name":"shelves/s1/books/2"}}}\n',
    );
  });

  it("ends NDJSON with an {\"error\"} line when the stream fails midway", async () => {
    const res = await send(harnesses.get(library)!.url, { path: "/v1/shelves/s1:watch?count=1&failCode=14", headers: { "x-request-id": requestId } });
    expect(res.status).toBe(200);
    const lines = res.text().trimEnd().split("\n").map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([
      { result: { sequence: 1, book: { name: "shelves/s1/books/1" } } },
      { error: { code: 14, message: "the shelf burned down", details: [requestInfo] } },
    ]);
  });

  it("streams Server-Sent Events with Accept: text/event-stream, an error as the final event", async () => {
    const res = await send(harnesses.get(library)!.url, {
      path: "/v1/shelves/s1:watch?count=2&failCode=9",
      headers: { accept: "text/event-stream", "x-request-id": requestId },
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(res.headers["cache-control"]).toBe("no-cache");
    expect(res.text()).toBe(
      'data: {"sequence":1,"book":{"name":"shelves/s1/books/1"}}\n\n' +
        'data: {"sequence":2,"book":{"name":"shelves/s1/books/2"}}\n\n' +
        `event: error\ndata: ${JSON.stringify({ code: 9, message: "the shelf burned down", details: [requestInfo] })}\n\n`,
    );
  });

  it("answers a stream that fails before its first message with the error's HTTP status", async () => {
    const res = await send(harnesses.get(library)!.url, { path: "/v1/shelves/s1:watch?count=0&failCode=5", headers: { "x-request-id": requestId } });
    expect({ status: res.status, json: res.json() }).toEqual({
      status: 404,
      json: { code: 5, message: "the shelf burned down", details: [requestInfo] },
    });
  });

  it("ends an empty stream with no line at all", async () => {
    const res = await send(harnesses.get(library)!.url, { path: "/v1/shelves/s1:watch?count=0" });
    expect({ status: res.status, text: res.text() }).toEqual({ status: 200, text: "" });
  });

  it("streams google.api.HttpBody messages raw, with the first one's content type", async () => {
    const res = await send(harnesses.get(library)!.url, { path: "/v1/downloads/d1:stream" });
    expect({ status: res.status, type: res.headers["content-type"], text: res.text() }).toEqual({
      status: 200,
      type: "text/csv",
      text: "a,b\n1,2\n3,4\n",
    });
  });

  it("cuts a raw stream that fails after its first bytes: there is no in-band way to say so", async () => {
    await expect(send(harnesses.get(library)!.url, { path: "/v1/downloads/cut:stream" })).rejects.toThrow();
  });

  it("streams over HTTP/2 too", async () => {
    const session = http2.connect(harnesses.get(library)!.url);
    try {
      const res = await send2(session, { path: "/v1/shelves/s1:watch?count=3", headers: { accept: "text/event-stream" } });
      expect(res.status).toBe(200);
      expect(res.text().match(/^data: /gm)).toHaveLength(3);
    } finally {
      session.close();
    }
  });
});

describe("HTTP/2 clients", () => {
  it("get the same transcoding, any method token included", async () => {
    const h = harnesses.get(library)!;
    h.calls.length = 0;
    h.respond(libraryResponder);
    const session = http2.connect(h.url);
    try {
      const res = await send2(session, { method: "BREW", path: "/v1/echo/tea" });
      expect({ status: res.status, json: res.json() }).toEqual({ status: 200, json: { text: "tea" } });
      const notFound = await send2(session, { path: "/nope" });
      expect(notFound.status).toBe(404);
    } finally {
      session.close();
    }
  });

  it("send bodies, which the transcoder reads to their end, and GETs, which it need not wait for", async () => {
    const h = harnesses.get(library)!;
    h.calls.length = 0;
    h.respond(libraryResponder);
    const session = http2.connect(h.url);
    try {
      const created = await send2(session, { method: "POST", path: "/v1/shelves/s1/books?request_id=r1", ...json({ title: "T", pages: 9 }) });
      expect(created.status).toBe(200);
      expect(toJson(h.calls[0]!.method.input, h.calls[0]!.request)).toEqual({ parent: "shelves/s1", book: { title: "T", pages: "9" }, requestId: "r1" });
      const got = await send2(session, { path: "/v1/shelves/s1/books/b1" });
      expect({ status: got.status, title: (got.json() as { title?: string }).title }).toEqual({ status: 200, title: "Dune" });
    } finally {
      session.close();
    }
  });
});
