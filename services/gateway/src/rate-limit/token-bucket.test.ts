import { describe, expect, it } from "vitest";
import { takeToken, type Bucket } from "./token-bucket.ts";

describe("takeToken", () => {
  it.each([
    // bucket, now, rate, burst → allowed, remaining, retryAfterMs, resetMs
    ["a new bucket starts full", undefined, 0, 10, 5, true, 4, 0, 100],
    ["an empty bucket refuses and says when a token comes", { tokens: 0, atMs: 0 }, 0, 10, 5, false, 0, 100, 500],
    ["half a token refuses for half the interval", { tokens: 0.5, atMs: 0 }, 0, 10, 5, false, 0, 50, 450],
    ["time refills at the rate", { tokens: 0, atMs: 0 }, 250, 10, 5, true, 1, 0, 350],
    ["refills stop at the burst", { tokens: 0, atMs: 0 }, 60_000, 10, 5, true, 4, 0, 100],
    ["a clock behind the bucket refills nothing", { tokens: 2, atMs: 1000 }, 500, 1, 3, true, 1, 0, 2000],
  ] as const)("%s", (_label, bucket, now, rate, burst, allowed, remaining, retryAfterMs, resetMs) => {
    expect(takeToken(bucket as Bucket | undefined, now, rate, burst).decision).toEqual({ allowed, remaining, retryAfterMs, resetMs });
  });

  it("allows exactly the burst at once, then the rate", () => {
    let bucket: Bucket | undefined;
    const allowedAt = (now: number, n: number) => {
      let allowed = 0;
      for (let i = 0; i < n; i++) {
        const result = takeToken(bucket, now, 2, 4);
        bucket = result.bucket;
        if (result.decision.allowed) allowed++;
      }
      return allowed;
    };
    expect(allowedAt(0, 10)).toBe(4);
    expect(allowedAt(499, 10)).toBe(0);
    expect(allowedAt(500, 10)).toBe(1);
    expect(allowedAt(1500, 10)).toBe(2);
  });
});
