// @vitest-environment happy-dom
import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { render } from "preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EventService } from "../../../gen/mesh/control/v1/events_pb.ts";
import { LoadTestSchema, LoadTestService, LoadTestState, type LoadTest, type StartLoadTestRequest } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import { invalidArguments } from "../../../lib/errors/connect-errors.ts";
import { LoadTestsView } from "./load-tests-view.tsx";

const untilAborted = (signal: AbortSignal) => new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));

function past(id: string, name: string, startMs: number, p99Ms: number, rate: number): LoadTest {
  return create(LoadTestSchema, {
    id,
    state: LoadTestState.COMPLETED,
    spec: { name, target: { case: "rpc", value: { method: "mesh.data.v1.DataService/ListItems" } }, duration: durationFromMs(10_000) },
    startTime: timestampFromMs(startMs),
    progress: { sent: 500n, succeeded: 500n, achievedRate: rate, latencyP50: durationFromMs(2), latencyP95: durationFromMs(5), latencyP99: durationFromMs(p99Ms), elapsed: durationFromMs(10_000) },
  });
}

/** A load-test service whose running test advances when the test says so. */
function fakeService(options: { refuse?: ConnectError } = {}) {
  const tests: LoadTest[] = [past("00000000-0000-0000-0000-000000000002", "after", 2_000_000, 12, 60), past("00000000-0000-0000-0000-000000000001", "before", 1_000_000, 24, 40)];
  const started: StartLoadTestRequest[] = [];
  const listeners = new Set<(t: LoadTest) => void>();
  const update = (t: LoadTest) => listeners.forEach((l) => l(t));
  const transport = createRouterTransport(({ service }) => {
    service(EventService, {
      async *watchEvents(_req, ctx) {
        await untilAborted(ctx.signal);
      },
    });
    service(LoadTestService, {
      listLoadTests: () => ({ loadTests: tests }),
      startLoadTest(req) {
        if (options.refuse) throw options.refuse;
        started.push(req);
        const test = create(LoadTestSchema, { id: "00000000-0000-0000-0000-00000000000a", state: LoadTestState.RUNNING, spec: req.spec, startTime: timestampFromMs(Date.now()) });
        tests.unshift(test);
        return { loadTest: test };
      },
      stopLoadTest(req) {
        const test = tests.find((t) => t.id === req.id)!;
        test.state = LoadTestState.STOPPED;
        update(test);
        return { loadTest: test };
      },
      async *watchLoadTest(req, ctx) {
        const queue: LoadTest[] = [];
        let wake: (() => void) | undefined;
        const listener = (t: LoadTest) => {
          queue.push(create(LoadTestSchema, t));
          wake?.();
        };
        listeners.add(listener);
        try {
          yield { loadTest: tests.find((t) => t.id === req.id) };
          while (!ctx.signal.aborted) {
            const next = queue.shift();
            if (!next) {
              await Promise.race([new Promise<void>((r) => (wake = r)), untilAborted(ctx.signal)]);
              continue;
            }
            yield { loadTest: next };
            if (next.state !== LoadTestState.RUNNING) return;
          }
        } finally {
          listeners.delete(listener);
        }
      },
    });
  });
  return { transport, tests, started, update };
}

// happy-dom has no canvas: its getContext answers null and uPlot would fail later, outside the chart's guard.
HTMLCanvasElement.prototype.getContext = (() => {
  throw new Error("no canvas in happy-dom");
}) as typeof HTMLCanvasElement.prototype.getContext;

let host: HTMLElement | undefined;
afterEach(() => {
  if (host) render(null, host);
  host?.remove();
});

function mount(fake: ReturnType<typeof fakeService>, canAct = true): HTMLElement {
  host = document.createElement("div");
  document.body.append(host);
  render(<LoadTestsView transport={fake.transport} canAct={canAct} config={{ authRequired: true }} />, host);
  return host;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const button = (root: HTMLElement, text: string) => [...root.querySelectorAll("button")].find((b) => b.textContent?.trim() === text) as HTMLButtonElement | undefined;

describe("LoadTestsView", () => {
  it("starts a test, shows its progress, stops it and shows the final percentiles", async () => {
    const fake = fakeService();
    const root = mount(fake);
    await vi.waitFor(() => expect(root.querySelectorAll("[data-runs] tbody tr")).toHaveLength(2));
    button(root, "Start load test")!.click();
    await vi.waitFor(() => expect(root.querySelector("[data-state='running']")).not.toBeNull());
    expect(fake.started[0]?.spec).toMatchObject({ concurrency: 10, requestsPerSecond: 50 });

    const running = fake.tests[0]!;
    running.progress = create(LoadTestSchema, {
      progress: { sent: 120n, succeeded: 118n, failed: 2n, achievedRate: 49, latencyP50: durationFromMs(3), latencyP99: durationFromMs(9), elapsed: durationFromMs(2500) },
    }).progress;
    fake.update(running);
    await vi.waitFor(() => expect(root.querySelector("[data-figure='sent']")?.textContent).toBe("120"));
    expect(root.querySelector("[data-figure='failed']")?.textContent).toContain("2");

    button(root, "Stop")!.click();
    await vi.waitFor(() => expect(root.querySelector("[data-state='stopped'] [data-final-percentiles]")).not.toBeNull());
    expect(root.querySelector("[data-final-percentiles] tbody")?.textContent).toContain("9.0 ms");
  });

  it("compares two ticked runs against the older one", async () => {
    const fake = fakeService();
    const root = mount(fake);
    await vi.waitFor(() => expect(root.querySelectorAll("[data-runs] tbody tr")).toHaveLength(2));
    for (const box of root.querySelectorAll<HTMLInputElement>("[data-runs] input[type='checkbox']")) box.click();
    await vi.waitFor(() => expect(root.querySelector("[data-comparison]")).not.toBeNull());
    const table = root.querySelector("[data-comparison]")!;
    expect(table.querySelector("caption")?.textContent).toContain("before");
    const p99 = [...table.querySelectorAll("tbody tr")].find((r) => r.querySelector("th")?.textContent?.startsWith("p99"))!;
    expect(p99.textContent).toContain("−50 %");
    expect(p99.textContent).toContain("better");
    const throughput = [...table.querySelectorAll("tbody tr")].find((r) => r.querySelector("th")?.textContent?.startsWith("Throughput"))!;
    expect(throughput.textContent).toContain("+50 %");
  });

  it("shows the server's field violations", async () => {
    const fake = fakeService({ refuse: invalidArguments([{ field: "spec.rpc.method", reason: "must be a method the mesh serves, as package.Service/Method" }]) });
    const root = mount(fake);
    await settle();
    button(root, "Start load test")!.click();
    await vi.waitFor(() => expect(root.querySelector("#load-rpcMethod-error")?.textContent).toContain("must be a method the mesh serves"));
    expect(root.querySelector("[role='alert']")?.textContent).toContain("spec.rpc.method");
  });

  it("refuses bad input before calling the server", async () => {
    const fake = fakeService();
    const root = mount(fake);
    await settle();
    const concurrency = root.querySelector<HTMLInputElement>("#load-concurrency")!;
    concurrency.value = "0";
    concurrency.dispatchEvent(new Event("input", { bubbles: true }));
    await settle();
    button(root, "Start load test")!.click();
    await vi.waitFor(() => expect(root.querySelector("#load-concurrency-error")?.textContent).toContain("between 1 and 1,000"));
    expect(fake.started).toEqual([]);
  });

  it("disables starting and stopping without the admin role", async () => {
    const fake = fakeService();
    const root = mount(fake, false);
    await vi.waitFor(() => expect(root.textContent).toContain("needs the admin role"));
    expect((root.querySelector("form fieldset") as HTMLFieldSetElement).disabled).toBe(true);
  });

  it("says what went wrong when the list cannot be read", async () => {
    const fake = fakeService();
    const transport = createRouterTransport(({ service }) => {
      service(EventService, { watchEvents: async function* (_r, ctx) { await untilAborted(ctx.signal); } });
      service(LoadTestService, {
        listLoadTests() {
          throw new ConnectError("control is down", Code.Unavailable);
        },
      });
    });
    const root = mount({ ...fake, transport });
    await vi.waitFor(() => expect(root.textContent).toContain("Could not list the load tests"));
  });
});
