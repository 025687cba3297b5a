import http from "node:http";
import http2 from "node:http2";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StatusService } from "../../../../gen/mesh/health/v1/status_pb.ts";
import { backendServices, controlServices } from "../../../../lib/mesh-services.ts";
import { generateMalformedRequests, type FuzzRequest } from "./test-support/malformed-requests.ts";
import { startRestHarness, type RestHarness } from "./test-support/rest-harness.ts";
import { buildDescriptorSet, type BuiltDescriptorSet } from "./test-support/test-protos.ts";

const seed = 20261121;
const count = 10_000;
const maxBodyBytes = 16 * 1024;

let set: BuiltDescriptorSet;
let harness: RestHarness;

beforeAll(async () => {
  set = await buildDescriptorSet();
  const services: DescService[] = [
    ...backendServices,
    ...controlServices,
    StatusService,
    set.registry.getService("transcode.library.v1.LibraryService")!,
    set.registry.getService("transcode.examples.v1.MessagingUpdateField")!,
  ];
  harness = await startRestHarness(services, { maxBodyBytes });
  // Requests that happen to be well-formed reach an upstream that refuses everything: every answer is a 4xx.
  harness.respond(() => {
    throw new ConnectError("the fuzz upstream refuses every request", Code.InvalidArgument);
  });
});

afterAll(async () => {
  await harness.close();
  await set.remove();
});

interface Outcome {
  status: number;
  contentType: string | undefined;
  body: string;
}

function sendH1(agent: http.Agent, url: URL, r: FuzzRequest): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...r.headers };
    if (r.body) headers["content-length"] = String(r.body.byteLength);
    const req = http.request({ host: url.hostname, port: url.port, method: r.method, path: r.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, contentType: res.headers["content-type"], body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(r.body);
  });
}

function sendH2(session: http2.ClientHttp2Session, r: FuzzRequest): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    // Node ends GET and DELETE streams at once unless told there is a body.
    const stream = session.request({ ":method": r.method, ":path": r.path, ...r.headers }, { endStream: r.body === undefined });
    const chunks: Buffer[] = [];
    let status = 0;
    let contentType: string | undefined;
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      contentType = h["content-type"];
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve({ status, contentType, body: Buffer.concat(chunks).toString() }));
    stream.on("error", reject);
    stream.end(r.body);
  });
}

/** The problem with an answer, or undefined when it is a 4xx with a google.rpc.Status body. */
function problemWith(outcome: Outcome): string | undefined {
  if (outcome.status < 400 || outcome.status > 499) return `status ${outcome.status}`;
  if (!outcome.contentType?.startsWith("application/json")) return `content-type ${outcome.contentType}`;
  let status: { code?: unknown; message?: unknown; details?: unknown };
  try {
    status = JSON.parse(outcome.body) as typeof status;
  } catch {
    return "body is not JSON";
  }
  if (typeof status.code !== "number" || status.code <= 0 || status.code > 16) return "no google.rpc.Status code";
  if (typeof status.message !== "string") return "no message";
  const details = status.details as Array<Record<string, unknown>> | undefined;
  const last = details?.at(-1);
  if (last?.["@type"] !== "type.googleapis.com/google.rpc.RequestInfo" || typeof last.requestId !== "string") return "no RequestInfo detail";
  return undefined;
}

describe("fuzz: malformed REST requests", () => {
  it(`answers ${count} generated malformed requests (seed ${seed}) with a 4xx and a google.rpc.Status, never a 5xx`, async () => {
    const requests = generateMalformedRequests(seed, count, harness.routes.routes, maxBodyBytes);
    expect(requests).toHaveLength(count);
    const url = new URL(harness.url);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const session = http2.connect(harness.url);
    const failures: string[] = [];
    const byStatus = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const r = requests[next++]!;
        try {
          const outcome = r.http2 ? await sendH2(session, r) : await sendH1(agent, url, r);
          byStatus.set(outcome.status, (byStatus.get(outcome.status) ?? 0) + 1);
          const problem = problemWith(outcome);
          if (problem) failures.push(`${problem}: ${r.kind} ${r.http2 ? "h2" : "h1"} ${r.method} ${r.path.slice(0, 120)} → ${outcome.body.slice(0, 200)}`);
        } catch (err) {
          failures.push(`transport error ${(err as Error).message}: ${r.kind} ${r.http2 ? "h2" : "h1"} ${r.method} ${r.path.slice(0, 120)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 24 }, worker));
    agent.destroy();
    session.close();
    expect(failures.slice(0, 20)).toEqual([]);
    expect([...byStatus.keys()].every((s) => s >= 400 && s < 500)).toBe(true);
    // The gateway still serves after all of it.
    const after = await fetch(`${harness.url}/v1/nothing`);
    expect(after.status).toBe(404);
  }, 180_000);
});
