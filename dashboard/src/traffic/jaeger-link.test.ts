import { describe, expect, it } from "vitest";
import { jaegerSearchUrl, jaegerSpikeUrl } from "./jaeger-link.ts";

describe("Jaeger links", () => {
  it("searches the gateway's traces over a window, in microseconds", () => {
    expect(jaegerSearchUrl({ jaegerUrl: "http://localhost:16686/", service: "gateway", startMs: 1_700_000_000_000, endMs: 1_700_000_060_000 })).toBe(
      "http://localhost:16686/search?service=gateway&start=1700000000000000&end=1700000060000000&limit=20",
    );
  });

  it("opens a latency spike with the 10 s behind the point and a minimum duration near the spike", () => {
    expect(jaegerSpikeUrl("http://jaeger:16686", 1_700_000_010_000, 250)).toBe(
      "http://jaeger:16686/search?service=gateway&start=1700000000000000&end=1700000011000000&minDuration=200ms&limit=20",
    );
  });

  it("leaves minDuration out for no latency, and never asks for less than 1 ms", () => {
    expect(jaegerSearchUrl({ jaegerUrl: "http://j", service: "gateway", startMs: 0, endMs: 1, minDurationMs: 0 })).not.toContain("minDuration");
    expect(jaegerSpikeUrl("http://j", 20_000, 0.4)).toContain("minDuration=1ms");
  });

  it("narrows the search to span tags, such as one instance's attempts", () => {
    const url = new URL(jaegerSearchUrl({ jaegerUrl: "http://j", service: "gateway", startMs: 0, endMs: 1000, tags: { "mesh.instance.id": "backend-1" } }));
    expect(JSON.parse(url.searchParams.get("tags")!)).toEqual({ "mesh.instance.id": "backend-1" });
  });
});
