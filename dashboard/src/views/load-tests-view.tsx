import { createClient } from "@connectrpc/connect";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { EventService, EventType } from "../../../gen/mesh/control/v1/events_pb.ts";
import { LoadTestService, LoadTestState, type LoadTest, type StartLoadTestRequest, type WatchLoadTestResponse } from "../../../gen/mesh/control/v1/load_test_pb.ts";
import "../chaos/action-forms.css";
import { createCoalescedRefresh } from "../chaos/coalesced-refresh.ts";
import { describeError } from "../ui/field-violations.ts";
import { LiveRunPanel } from "../load-tests/live-run-panel.tsx";
import { LoadTestFormPanel } from "../load-tests/load-test-form-panel.tsx";
import { PastRunsPanel } from "../load-tests/past-runs-panel.tsx";
import { appendProgress, emptyHistory, type ProgressHistory } from "../load-tests/progress-history.ts";
import { watchUntilDone } from "../load-tests/watch-until-done.ts";
import { useStream } from "../streams/use-stream.ts";
import { EmptyState } from "../ui/empty-state.tsx";
import type { ViewProps } from "../view-props.ts";

const pageSize = 20;

/** A stream that sends nothing until aborted: what to watch while no test is shown. */
async function* idle(signal: AbortSignal): AsyncGenerator<WatchLoadTestResponse> {
  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
}

/**
 * Load tests: start one, watch its progress live (WatchLoadTest), stop it, read its final percentiles, and
 * compare past runs. The run list is re-read after actions and on load-test events, never on a timer.
 */
export function LoadTestsView(props: ViewProps) {
  const { transport, canAct } = props;
  const clients = useMemo(() => ({ loadTests: createClient(LoadTestService, transport), events: createClient(EventService, transport) }), [transport]);
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);

  const [firstPage, setFirstPage] = useState<LoadTest[] | undefined>(undefined);
  const [older, setOlder] = useState<LoadTest[]>([]);
  const olderRef = useRef(older);
  olderRef.current = older;
  const [nextToken, setNextToken] = useState("");
  const [listError, setListError] = useState<string | undefined>(undefined);
  const [shownId, setShownId] = useState<string | undefined>(undefined);
  const shownRef = useRef(shownId);
  shownRef.current = shownId;

  const refresh = useMemo(
    () =>
      createCoalescedRefresh(async () => {
        try {
          const res = await clients.loadTests.listLoadTests({ pageSize });
          if (!mounted.current) return;
          setFirstPage(res.loadTests);
          setListError(undefined);
          setOlder((prev) => (prev.length === 0 ? prev : prev.filter((t) => !res.loadTests.some((n) => n.id === t.id))));
          // Once older pages are loaded, the token continues after them.
          if (olderRef.current.length === 0) setNextToken(res.nextPageToken);
          // On first sight, follow a test that is already running.
          if (shownRef.current === undefined) {
            const running = res.loadTests.find((t) => t.state === LoadTestState.RUNNING);
            if (running) setShownId(running.id);
          }
        } catch (err) {
          if (mounted.current) setListError(describeError(err));
        }
      }),
    [clients],
  );
  const events = useStream(
    (signal) => clients.events.watchEvents({ types: [EventType.LOAD_TEST_STARTED, EventType.LOAD_TEST_FINISHED] }, { signal }),
    [clients],
    () => void refresh(),
  );
  useEffect(() => {
    if (events.status.kind === "live" || events.status.kind === "failed") void refresh();
  }, [events.status.kind, refresh]);
  useEffect(() => void refresh(), [refresh]);

  async function loadOlder() {
    try {
      const res = await clients.loadTests.listLoadTests({ pageSize, pageToken: nextToken });
      setOlder((prev) => [...prev, ...res.loadTests]);
      setNextToken(res.nextPageToken);
    } catch (err) {
      setListError(describeError(err));
    }
  }

  const [current, setCurrent] = useState<LoadTest | undefined>(undefined);
  const [history, setHistory] = useState<ProgressHistory>(emptyHistory(""));
  const watch = useStream(
    (signal) => (shownId ? watchUntilDone((s) => clients.loadTests.watchLoadTest({ id: shownId }, { signal: s }), signal) : idle(signal)),
    [clients, shownId],
    (message) => {
      const test = message.loadTest;
      if (!test || test.id !== shownRef.current) return;
      setCurrent(test);
      setHistory((h) => appendProgress(h, test));
      if (test.state !== LoadTestState.RUNNING) void refresh();
    },
  );

  const start = useCallback(
    async (request: StartLoadTestRequest) => {
      const res = await clients.loadTests.startLoadTest(request);
      const test = res.loadTest;
      if (test) {
        setShownId(test.id);
        setCurrent(test);
        setHistory(emptyHistory(test.id));
      }
      void refresh();
      return test;
    },
    [clients, refresh],
  );

  const [stopping, setStopping] = useState(false);
  const [stopError, setStopError] = useState<string | undefined>(undefined);
  async function stop() {
    if (!shownId) return;
    setStopping(true);
    setStopError(undefined);
    try {
      await clients.loadTests.stopLoadTest({ id: shownId });
    } catch (err) {
      setStopError(`Could not stop the test: ${describeError(err)}`);
    } finally {
      setStopping(false);
      void refresh();
    }
  }

  function show(id: string) {
    setShownId(id);
    setStopError(undefined);
    const known = [...(firstPage ?? []), ...older].find((t) => t.id === id);
    setCurrent(known);
    setHistory(emptyHistory(id));
  }

  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const toggle = (id: string) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  const shown = current && current.id === shownId ? current : undefined;
  return (
    <div class="action-view">
      <p class="hint">Tests run from the control plane through the gateway, so the Overview and Traffic views show their load too.</p>
      <div class="action-grid">
        <LoadTestFormPanel canAct={canAct} start={start} />
        <div>
          {shown ? (
            <LiveRunPanel test={shown} history={history} status={watch.status} canAct={canAct} stopping={stopping} stop={() => void stop()} stopError={stopError} />
          ) : (
            <section class="panel" aria-label="Current run">
              <EmptyState title={shownId ? "Loading the run…" : "No test running"}>
                <p>Start a test with the form, or pick a past run below to see its figures.</p>
              </EmptyState>
            </section>
          )}
        </div>
      </div>
      <PastRunsPanel
        tests={firstPage === undefined ? undefined : [...firstPage, ...older].map((t) => (shown && t.id === shown.id ? shown : t))}
        loadError={listError}
        selected={selected}
        toggle={toggle}
        show={show}
        shownId={shownId}
        more={nextToken ? () => void loadOlder() : undefined}
      />
    </div>
  );
}
