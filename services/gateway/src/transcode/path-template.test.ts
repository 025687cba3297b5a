import { describe, expect, it } from "vitest";
import { parsePathTemplate, templateShape } from "./path-template.ts";

describe("parsePathTemplate", () => {
  it.each([
    ["/v1/items", "/v1/items", [], undefined],
    ["/", "/", [], undefined],
    ["/v1/items/{id}", "/v1/items/*", [{ fieldPath: ["id"], start: 2, end: 3, multiSegment: false }], undefined],
    ["/v1/{name=messages/*}", "/v1/messages/*", [{ fieldPath: ["name"], start: 1, end: 3, multiSegment: true }], undefined],
    ["/v1/{name=shelves/*/books/*}", "/v1/shelves/*/books/*", [{ fieldPath: ["name"], start: 1, end: 5, multiSegment: true }], undefined],
    ["/v1/items/{item.id}", "/v1/items/*", [{ fieldPath: ["item", "id"], start: 2, end: 3, multiSegment: false }], undefined],
    ["/v1/items/{id=*}", "/v1/items/*", [{ fieldPath: ["id"], start: 2, end: 3, multiSegment: false }], undefined],
    ["/v1/items/{id}:undelete", "/v1/items/*:undelete", [{ fieldPath: ["id"], start: 2, end: 3, multiSegment: false }], "undelete"],
    ["/v1/files/{path=**}", "/v1/files/**", [{ fieldPath: ["path"], start: 2, end: undefined, multiSegment: true }], undefined],
    ["/v1/files/{path=**}:info", "/v1/files/**:info", [{ fieldPath: ["path"], start: 2, end: undefined, multiSegment: true }], "info"],
    ["/v1/*/x/**", "/v1/*/x/**", [], undefined],
    ["/v1/items:batchGet", "/v1/items:batchGet", [], "batchGet"],
    ["/v1/caf%C3%A9", "/v1/café", [], undefined],
    [
      "/v1/users/{user_id}/messages/{message_id}",
      "/v1/users/*/messages/*",
      [
        { fieldPath: ["user_id"], start: 2, end: 3, multiSegment: false },
        { fieldPath: ["message_id"], start: 4, end: 5, multiSegment: false },
      ],
      undefined,
    ],
  ])("%s", (source, shape, variables, verb) => {
    const template = parsePathTemplate(source);
    expect(templateShape(template)).toBe(shape);
    expect(template.variables).toEqual(variables);
    expect(template.verb).toBe(verb);
  });

  it.each([
    ["v1/items", "starts with `/`"],
    ["", "starts with `/`"],
    ["/v1//items", "expected a literal"],
    ["/v1/items/", "expected a literal"],
    ["/v1/{id", "expected `}`"],
    ["/v1/{1id}", "expected a field name"],
    ["/v1/{a=x/{b}}", "cannot contain another variable"],
    ["/v1/{id}/{id}", "bound twice"],
    ["/v1/**/x", "must be the last segment"],
    ["/v1/{p=**}/x", "must be the last segment"],
    ["/v1/items:", "expected a verb"],
    ["/v1/items?x=1", "unexpected \"?\""],
    ["/v1/a b", "unexpected \" \""],
    ["/v1/%zz", "malformed percent-encoding"],
  ])("rejects %j (%s)", (source, reason) => {
    expect(() => parsePathTemplate(source)).toThrow(reason);
  });
});
