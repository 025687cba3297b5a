import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { invalidArguments } from "../../../lib/errors/connect-errors.ts";
import { describeError, fieldViolations } from "./field-violations.ts";

describe("fieldViolations", () => {
  it("reads the BadRequest detail the mesh's services attach", () => {
    const err = invalidArguments([
      { field: "fault.duration", reason: "must be between 1s and 86400s" },
      { field: "target.service", reason: "is required" },
    ]);
    expect(fieldViolations(err)).toEqual([
      { field: "fault.duration", reason: "must be between 1s and 86400s" },
      { field: "target.service", reason: "is required" },
    ]);
  });

  it("falls back to the field: reason message when the detail is missing", () => {
    const err = new ConnectError("spec.concurrency: must be between 1 and 1000; spec.duration: must be between 1s and 3600s", Code.InvalidArgument);
    expect(fieldViolations(err)).toEqual([
      { field: "spec.concurrency", reason: "must be between 1 and 1000" },
      { field: "spec.duration", reason: "must be between 1s and 3600s" },
    ]);
  });

  it("finds none in other errors", () => {
    expect(fieldViolations(new ConnectError("no registered instance for instance backend-9", Code.NotFound))).toEqual([]);
  });
});

describe("describeError", () => {
  it("gives the server's message without the code prefix", () => {
    expect(describeError(new ConnectError("no registered instance", Code.NotFound))).toBe("no registered instance");
  });
});
