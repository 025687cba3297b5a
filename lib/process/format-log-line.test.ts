import { describe, expect, it } from "vitest";
import { formatLogLine } from "./format-log-line.ts";

describe("formatLogLine", () => {
  it.each([
    [
      '{"level":"info","time":"2026-11-21T12:00:01.123Z","service":"backend","instance":"backend-1","url":"http://127.0.0.1:4001","msg":"backend serving"}',
      "12:00:01 backend-1  INFO  backend serving url=http://127.0.0.1:4001",
    ],
    [
      '{"level":"warn","time":"2026-11-21T12:00:02.000Z","msg":"fault injected","kind":"errorRate","err":{"message":"boom now"}}',
      '12:00:02 backend-1  WARN  fault injected kind=errorRate err="boom now"',
    ],
    ["plain text from a crash", "backend-1  plain text from a crash"],
    ["[1,2]", "backend-1  [1,2]"],
  ])("%s", (line, expected) => {
    expect(formatLogLine("backend-1", line)).toBe(expected);
  });
});
