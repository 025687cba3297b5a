import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.ts";
import { FaultService } from "../../gen/mesh/chaos/v1/fault_pb.ts";
import { StatusService } from "../../gen/mesh/health/v1/status_pb.ts";
import { createServiceCredentialInterceptor, requireServiceCredential, serviceTokenHeader, startServiceCredential } from "./service-credential.ts";

const secret = "a-mesh-service-secret-of-32-bytes-or-more";

function server() {
  return createRouterTransport(
    (router) => {
      router.service(FaultService, { listFaults: () => ({}) });
      router.service(StatusService, { getStatus: () => ({ service: "backend" }) });
      router.service(Health, { check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }) });
    },
    { router: { interceptors: [requireServiceCredential({ secret })] } },
  );
}

async function code(call: Promise<unknown>): Promise<Code | "ok"> {
  return call.then(() => "ok" as const, (err: unknown) => ConnectError.from(err).code);
}

describe("the service credential", () => {
  it("lets calls with a fresh credential through", async () => {
    const credential = await startServiceCredential({ secret, subject: "gateway-1" });
    try {
      const transport = server();
      const faults = createClient(FaultService, transport);
      const header = { [serviceTokenHeader]: credential.token() };
      expect(await code(faults.listFaults({}, { headers: header }))).toBe("ok");
      // And through the client interceptor.
      const intercepted = createClient(
        FaultService,
        createRouterTransport((router) => router.service(FaultService, { listFaults: () => ({}) }), {
          router: { interceptors: [requireServiceCredential({ secret })] },
          transport: { interceptors: [createServiceCredentialInterceptor(credential)] },
        }),
      );
      expect(await code(intercepted.listFaults({}))).toBe("ok");
    } finally {
      credential.stop();
    }
  });

  it.each([
    ["no credential", async () => undefined],
    ["garbage", async () => "not-a-token"],
    ["one signed with another secret", async () => (await startServiceCredential({ secret: "another-secret-that-is-32-bytes-long!!", subject: "x" })).token()],
    [
      "an expired one",
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: "HS256" })
          .setIssuer("connect-mesh")
          .setAudience("connect-mesh-internal")
          .setSubject("gateway")
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(new TextEncoder().encode(secret)),
    ],
  ])("refuses a call with %s as Unauthenticated", async (_label, make) => {
    const token = await make();
    const faults = createClient(FaultService, server());
    expect(await code(faults.listFaults({}, { headers: token === undefined ? {} : { [serviceTokenHeader]: token } }))).toBe(Code.Unauthenticated);
  });

  it("never asks health checks or status for it: both are public", async () => {
    expect((await createClient(Health, server()).check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await createClient(StatusService, server()).getStatus({})).service).toBe("backend");
  });
});
