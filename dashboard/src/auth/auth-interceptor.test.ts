import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { OverviewService } from "../../../gen/mesh/control/v1/overview_pb.ts";
import { createAuthInterceptor } from "./auth-interceptor.ts";

function setup(behaviour: "ok" | "unary-refused" | "stream-refused-midway") {
  const seen: Array<string | null> = [];
  let refused = 0;
  const transport = createRouterTransport(
    ({ service }) => {
      service(OverviewService, {
        getOverview(_req, ctx) {
          seen.push(ctx.requestHeader.get("authorization"));
          if (behaviour === "unary-refused") throw new ConnectError("no", Code.Unauthenticated);
          return {};
        },
        async *watchOverview(_req, ctx) {
          seen.push(ctx.requestHeader.get("authorization"));
          yield {};
          if (behaviour === "stream-refused-midway") throw new ConnectError("expired", Code.Unauthenticated);
        },
      });
    },
    { transport: { interceptors: [createAuthInterceptor(() => "tok", () => refused++)] } },
  );
  return { client: createClient(OverviewService, transport), seen, refused: () => refused };
}

describe("createAuthInterceptor", () => {
  it("sends the bearer token and reports nothing when calls succeed", async () => {
    const { client, seen, refused } = setup("ok");
    await client.getOverview({});
    for await (const _ of client.watchOverview({})) void _;
    expect(seen).toEqual(["Bearer tok", "Bearer tok"]);
    expect(refused()).toBe(0);
  });

  it("reports Unauthenticated from a unary call, and still throws it", async () => {
    const { client, refused } = setup("unary-refused");
    await expect(client.getOverview({})).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(refused()).toBe(1);
  });

  it("reports Unauthenticated that ends a stream midway", async () => {
    const { client, refused } = setup("stream-refused-midway");
    const received: unknown[] = [];
    await expect(
      (async () => {
        for await (const m of client.watchOverview({})) received.push(m);
      })(),
    ).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(received).toHaveLength(1);
    expect(refused()).toBe(1);
  });
});
