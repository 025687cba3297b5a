import { execFile } from "node:child_process";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataService } from "../../gen/mesh/data/v1/data_pb.ts";
import { createHealthMonitor } from "../health/health-monitor.ts";
import type { HealthMonitor } from "../health/health-monitor.ts";
import { registerHealth } from "../health/register-health.ts";
import { registerReflection } from "./register-reflection.ts";

/** The real buf CLI from node_modules: an outside gRPC client that knows nothing but reflection. */
const buf = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));

interface CurlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** `timeout` is buf's own deadline for the call, in seconds. */
function curl(args: string[], timeout = 20): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    const options = { timeout: (timeout + 5) * 1000 };
    execFile(buf, ["curl", "--timeout", `${timeout}s`, ...args], options, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") {
        reject(error);
        return;
      }
      resolve({ exitCode: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

let server: http2.Http2Server;
let monitor: HealthMonitor;
/** Resolves when the server's Watch implementation has finished. */
let watchEnded = signalled();

function signalled(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
let baseUrl: string;
const sessions = new Set<http2.ServerHttp2Session>();

beforeAll(async () => {
  monitor = createHealthMonitor({ checks: { always: async () => {} } });
  await monitor.checkNow();
  const watched: HealthMonitor = {
    ...monitor,
    async *watch(service, signal) {
      try {
        yield* monitor.watch(service, signal);
      } finally {
        watchEnded.resolve();
      }
    },
  };
  server = http2.createServer(
    connectNodeAdapter({
      routes(router) {
        router.service(DataService, {});
        registerHealth(router, watched);
        registerReflection(router);
      },
    }),
  );
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  monitor.close();
  for (const session of sessions) session.destroy();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

const services = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "mesh.data.v1.DataService",
];

describe("buf curl against a real HTTP/2 server", () => {
  it.each(["grpc-v1", "grpc-v1alpha"])("lists the services through reflection %s", async (reflectProtocol) => {
    const result = await curl([
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--reflect-protocol",
      reflectProtocol,
      "--list-services",
      baseUrl,
    ]);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual(services);
  });

  it("lists the methods, the reflection services' own included", async () => {
    const result = await curl(["--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", baseUrl]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual(
      expect.arrayContaining([
        "grpc.health.v1.Health/Check",
        "grpc.health.v1.Health/List",
        "grpc.health.v1.Health/Watch",
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "mesh.data.v1.DataService/GetItem",
      ]),
    );
  });

  // `buf curl` has no describe command: a call resolves its method through file_containing_symbol.
  it.each([
    ["grpc", "grpc-v1"],
    ["grpc", "grpc-v1alpha"],
    ["connect", "grpc-v1"],
  ])("calls Health/Check over %s, the schema found through reflection %s", async (protocol, reflectProtocol) => {
    const result = await curl([
      "--protocol",
      protocol,
      "--http2-prior-knowledge",
      "--reflect-protocol",
      reflectProtocol,
      "--data",
      '{"service":"mesh.data.v1.DataService"}',
      `${baseUrl}/grpc.health.v1.Health/Check`,
    ]);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ status: "SERVING" });
  });

  it("exits with NOT_FOUND shifted by 3 for an unknown health service", async () => {
    const result = await curl([
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--data",
      '{"service":"mesh.nope.v1.Nope"}',
      `${baseUrl}/grpc.health.v1.Health/Check`,
    ]);
    expect(result.exitCode).toBe(5 << 3);
    expect(result.stderr).toContain("not_found");
  });

  it("streams Health/Watch until the client gives up, then the server ends the stream", async () => {
    watchEnded = signalled();
    const result = await curl(
      ["--protocol", "grpc", "--http2-prior-knowledge", `${baseUrl}/grpc.health.v1.Health/Watch`],
      1,
    );
    expect(JSON.parse(result.stdout)).toEqual({ status: "SERVING" });
    // buf's deadline is also sent as grpc-timeout: whichever side reaches it first ends the call, the
    // client with DEADLINE_EXCEEDED, or the server, whose Watch then ends cleanly with OK.
    expect([0, 4 << 3]).toContain(result.exitCode);
    await watchEnded.promise;
  });

  it("reports a symbol reflection does not know", async () => {
    const result = await curl(["--protocol", "grpc", "--http2-prior-knowledge", `${baseUrl}/mesh.nope.v1.Nope/Get`]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('failed to find service named "mesh.nope.v1.Nope"');
  });
});
