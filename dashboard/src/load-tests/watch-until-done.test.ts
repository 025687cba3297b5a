import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { LoadTestState, WatchLoadTestResponseSchema } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import { watchUntilDone } from "./watch-until-done.ts";

const message = (state: LoadTestState) => create(WatchLoadTestResponseSchema, { loadTest: { id: "t", state } });

async function* messages(...states: LoadTestState[]) {
  for (const state of states) yield message(state);
}

describe("watchUntilDone", () => {
  it("passes messages through and then stays open after the final one until aborted", async () => {
    const controller = new AbortController();
    const seen: LoadTestState[] = [];
    let ended = false;
    const done = (async () => {
      for await (const m of watchUntilDone(() => messages(LoadTestState.RUNNING, LoadTestState.COMPLETED), controller.signal)) seen.push(m.loadTest!.state);
      ended = true;
    })();
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([LoadTestState.RUNNING, LoadTestState.COMPLETED]);
    expect(ended).toBe(false);
    controller.abort();
    await done;
    expect(ended).toBe(true);
  });

  it("ends when the stream ends while the test still runs, so the caller reconnects", async () => {
    const seen: LoadTestState[] = [];
    for await (const m of watchUntilDone(() => messages(LoadTestState.RUNNING), new AbortController().signal)) seen.push(m.loadTest!.state);
    expect(seen).toEqual([LoadTestState.RUNNING]);
  });
});
