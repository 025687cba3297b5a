import { describe, expect, it } from "vitest";
import { routeOf } from "./routes.ts";

describe("routeOf", () => {
  it.each([
    ["", "overview"],
    ["#", "overview"],
    ["#/traffic", "traffic"],
    ["#/load-tests", "load-tests"],
    ["#/events?type=x", "events"],
    ["#/chaos/backend-1", "chaos"],
    ["#events", "events"],
    ["#/nope", "overview"],
  ])("%j shows %s", (hash, route) => expect(routeOf(hash)).toBe(route));
});
