import { describe, expect, it } from "vitest";
import { requestActor } from "./request-actor.ts";

describe("requestActor", () => {
  it.each<[string, Record<string, string>, string]>([
    ["the subject the gateway verified, over a declared name", { "x-mesh-subject": "alice", "x-actor": "mallory" }, "alice"],
    ["a declared name without a gateway", { "x-actor": "ops@laptop" }, "ops@laptop"],
    ["anonymous when nobody is named", {}, "anonymous"],
    ["anonymous for empty headers", { "x-mesh-subject": "", "x-actor": "" }, "anonymous"],
    ["at most 200 characters", { "x-actor": "a".repeat(500) }, "a".repeat(200)],
  ])("names %s", (_label, headers, expected) => {
    expect(requestActor(new Headers(headers))).toBe(expected);
  });
});
