import { durationMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { meshServices } from "../../../lib/mesh-services.ts";
import { validateLoadSpec } from "../../../services/control/src/load/validate-load-spec.ts";
import { defaultLoadTestForm, formFieldOfViolation, parseLoadTestForm, type LoadTestForm } from "./load-test-form.ts";

const form = (overrides: Partial<LoadTestForm>): LoadTestForm => ({ ...defaultLoadTestForm, ...overrides });

describe("parseLoadTestForm", () => {
  it("builds an RPC test the server accepts from the defaults", () => {
    const result = parseLoadTestForm(form({ name: " smoke " }));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const spec = result.request.spec!;
    expect(spec.target).toEqual({ case: "rpc", value: expect.objectContaining({ method: "mesh.data.v1.DataService/ListItems", request: {} }) });
    expect(spec).toMatchObject({ concurrency: 10, requestsPerSecond: 50, name: "smoke" });
    expect(durationMs(spec.duration!)).toBe(30_000);
    expect(() => validateLoadSpec(spec, meshServices)).not.toThrow();
  });

  it("builds an HTTP test with a JSON body the server accepts", () => {
    const result = parseLoadTestForm(form({ targetKind: "http", httpMethod: "post", httpPath: "/v1/items", httpBody: '{"name":"x"}', force: true }));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.request.force).toBe(true);
    const target = result.request.spec!.target;
    expect(target.case).toBe("http");
    if (target.case !== "http") return;
    expect(target.value.method).toBe("POST");
    expect(target.value.body?.kind).toEqual({ case: "structValue", value: expect.anything() });
    expect(() => validateLoadSpec(result.request.spec, meshServices)).not.toThrow();
  });

  it("passes an RPC request object through", () => {
    const result = parseLoadTestForm(form({ rpcRequest: '{"pageSize": 5}' }));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.request.spec?.target.value).toMatchObject({ request: { pageSize: 5 } });
  });

  it.each([
    [{ rpcMethod: "DataService.ListItems" }, "rpcMethod", "package.Service/Method"],
    [{ rpcRequest: "{" }, "rpcRequest", "not JSON"],
    [{ rpcRequest: "[1]" }, "rpcRequest", "must be a JSON object"],
    [{ targetKind: "http", httpPath: "http://evil.example/" }, "httpPath", "not a URL"],
    [{ targetKind: "http", httpPath: "//evil.example/" }, "httpPath", "not a URL"],
    [{ targetKind: "http", httpMethod: "TRACE" }, "httpMethod", "Choose GET"],
    [{ targetKind: "http", httpBody: "{x" }, "httpBody", "not JSON"],
    [{ concurrency: "0" }, "concurrency", "between 1 and 1,000"],
    [{ concurrency: "2.5" }, "concurrency", "whole number"],
    [{ requestsPerSecond: "0" }, "requestsPerSecond", "more than 0 and at most 50,000"],
    [{ requestsPerSecond: "" }, "requestsPerSecond", "must be a number"],
    [{ durationSeconds: "3601" }, "durationSeconds", "between 1 and 3,600"],
    [{ name: "x".repeat(201) }, "name", "At most 200"],
  ] as const)("refuses %o on %s", (overrides, field, message) => {
    const result = parseLoadTestForm(form(overrides));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[field]).toContain(message);
  });
});

describe("formFieldOfViolation", () => {
  it.each([
    ["spec.rpc.method", "rpcMethod"],
    ["spec.concurrency", "concurrency"],
    ["spec.requests_per_second", "requestsPerSecond"],
    ["spec.duration", "durationSeconds"],
    ["spec.http.path", "httpPath"],
    ["spec.target", undefined],
  ])("%s → %s", (field, expected) => {
    expect(formFieldOfViolation(field)).toBe(expected);
  });
});
