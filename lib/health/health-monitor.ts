/** Resolves when the dependency answers, rejects (or never settles) when it does not. */
export type HealthCheck = (signal: AbortSignal) => Promise<unknown>;

export type ServingStatus = "SERVING" | "NOT_SERVING";

/** What the last check of one dependency found. */
export interface DependencyState {
  readonly state: "unknown" | "up" | "down";
  /** How long the last check took, in ms; undefined before the first one settles. */
  readonly latencyMs?: number;
  /** Why the last check failed: the error's message, or the timeout. Log-grade detail, not for clients. */
  readonly error?: string;
}

/** The part of a pino logger the monitor uses; a pino instance fits as is. */
export interface HealthLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface HealthMonitorOptions {
  /** Dependency checks by name, e.g. `{ postgres: (signal) => pool.query("select 1") }`. */
  checks: Readonly<Record<string, HealthCheck>>;
  /** RPC service names to report on besides the whole server (""). More with addService(). Default none. */
  services?: readonly string[];
  /**
   * The checks each service needs, by service name; a service not listed needs every check.
   * The whole server ("") always needs every check.
   */
  dependencies?: Readonly<Record<string, readonly string[]>>;
  /** Time between two rounds of checks, in ms. Default 5000. */
  interval?: number;
  /** A check not settled after this many ms fails, and its signal aborts. Default 2000. */
  timeout?: number;
  /** Told when a dependency goes up or down (not on every round). Default silent. */
  logger?: HealthLogger;
}

export type HealthListener = (service: string, status: ServingStatus) => void;

export interface HealthMonitor {
  /** The status of a known service ("" is the whole server); undefined when the service is unknown. */
  status(service: string): ServingStatus | undefined;
  /** Every known service with its status, "" included. */
  statuses(): Map<string, ServingStatus>;
  /** The last result of every check, by check name. */
  dependencies(): Map<string, DependencyState>;
  /** Makes a service known (its status follows its dependencies). Watchers of it are told. */
  addService(service: string): void;
  /** Runs every check now; resolves once the statuses reflect the results. */
  checkNow(): Promise<void>;
  /** Reports NOT_SERVING for everything from now on and stops checking: the server is shutting down. */
  setDraining(): void;
  /** Called on every status change of any service. Returns the unsubscribe function. */
  subscribe(listener: HealthListener): () => void;
  /**
   * The status of `service` now, then each change, until `signal` aborts or the monitor closes.
   * An unknown service yields SERVICE_UNKNOWN, then its status once it becomes known.
   * Changes faster than the consumer reads are coalesced to the latest.
   */
  watch(service: string, signal?: AbortSignal): AsyncIterable<ServingStatus | "SERVICE_UNKNOWN">;
  /** Stops the timer, aborts running checks and ends every watch. */
  close(): void;
}

const abortedMark = Symbol("aborted");

interface RoundResult {
  name: string;
  state: DependencyState;
  failure?: unknown;
}

/**
 * Derives gRPC health from real dependency checks, run now and then every `interval` ms (the timer
 * does not keep the process alive). Until the first round settles, services that need a check are
 * NOT_SERVING; with no checks at all, everything is SERVING.
 */
export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  const { checks, interval = 5000, timeout = 2000, logger } = options;
  const checkNames = Object.keys(checks);
  const needs = new Map<string, readonly string[]>();
  for (const [service, names] of Object.entries(options.dependencies ?? {})) {
    const unknown = names.filter((name) => !(name in checks));
    if (unknown.length > 0) {
      throw new Error(`health dependencies of "${service}" name unknown checks: ${unknown.join(", ")}`);
    }
    needs.set(service, names);
  }
  const results = new Map<string, DependencyState>(checkNames.map((name) => [name, { state: "unknown" }]));
  const known = new Set<string>(["", ...(options.services ?? [])]);
  const listeners = new Set<HealthListener>();
  const wakers = new Set<() => void>();
  const closing = new AbortController();
  let draining = false;
  let current = computeAll();
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;

  function compute(service: string): ServingStatus {
    if (draining) return "NOT_SERVING";
    const required = (service === "" ? undefined : needs.get(service)) ?? checkNames;
    return required.every((name) => results.get(name)?.state === "up") ? "SERVING" : "NOT_SERVING";
  }

  function computeAll(): Map<string, ServingStatus> {
    return new Map([...known].map((service) => [service, compute(service)]));
  }

  function publish(): void {
    const next = computeAll();
    const previous = current;
    current = next;
    for (const [service, status] of next) {
      if (previous.get(service) === status) continue;
      for (const listener of listeners) {
        try {
          listener(service, status);
        } catch (error) {
          logger?.warn({ service, status, err: error }, "health listener threw");
        }
      }
    }
    for (const wake of wakers) wake();
  }

  async function runOne(name: string, check: HealthCheck): Promise<RoundResult> {
    const controller = new AbortController();
    const abortOnClose = (): void => controller.abort(closing.signal.reason);
    closing.signal.addEventListener("abort", abortOnClose);
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${timeout} ms`)), timeout);
    // Settles the race even when a check ignores its signal.
    const aborted = new Promise<typeof abortedMark>((resolve) => {
      controller.signal.addEventListener("abort", () => resolve(abortedMark), { once: true });
    });
    const started = Date.now();
    try {
      // Called synchronously; the async wrapper turns a synchronous throw into a rejection.
      const attempt = (async () => check(controller.signal))();
      const outcome = await Promise.race([attempt, aborted]);
      if (outcome === abortedMark) throw controller.signal.reason;
      return { name, state: { state: "up", latencyMs: Date.now() - started } };
    } catch (thrown) {
      const failure: unknown = controller.signal.aborted ? controller.signal.reason : thrown;
      const error = failure instanceof Error ? failure.message : String(failure);
      return { name, state: { state: "down", latencyMs: Date.now() - started, error }, failure };
    } finally {
      clearTimeout(timer);
      closing.signal.removeEventListener("abort", abortOnClose);
    }
  }

  async function runRound(): Promise<void> {
    const round = await Promise.all(Object.entries(checks).map(([name, check]) => runOne(name, check)));
    if (closing.signal.aborted) return;
    for (const { name, state, failure } of round) {
      const before = results.get(name)?.state;
      results.set(name, state);
      if (state.state === "down" && before !== "down") {
        logger?.warn({ check: name, error: state.error, err: failure }, "health check failing");
      } else if (state.state === "up" && before === "down") {
        logger?.info({ check: name, latencyMs: state.latencyMs }, "health check passing again");
      }
    }
    publish();
  }

  function checkNow(): Promise<void> {
    if (closing.signal.aborted) return Promise.resolve();
    if (running === undefined) {
      running = runRound().finally(() => {
        running = undefined;
      });
      return running;
    }
    // A round is under way but may have started before the caller's change: run one more after it.
    queued ??= running.then(() => {
      queued = undefined;
      return checkNow();
    });
    return queued;
  }

  const timer = setInterval(() => {
    if (running === undefined) void checkNow();
  }, interval);
  timer.unref();
  void checkNow();

  async function* watch(service: string, signal?: AbortSignal): AsyncGenerator<ServingStatus | "SERVICE_UNKNOWN"> {
    let wake: (() => void) | undefined;
    const poke = (): void => {
      const resolve = wake;
      wake = undefined;
      resolve?.();
    };
    // A server may stop pulling a cancelled stream without returning it: let go of everything on
    // abort, so the suspended generator is garbage, not a listener kept forever.
    const release = (): void => {
      wakers.delete(poke);
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = (): void => {
      release();
      poke();
    };
    wakers.add(poke);
    signal?.addEventListener("abort", onAbort);
    try {
      let last: ServingStatus | "SERVICE_UNKNOWN" | undefined;
      while (signal?.aborted !== true && !closing.signal.aborted) {
        const now = current.get(service) ?? "SERVICE_UNKNOWN";
        if (now !== last) {
          last = now;
          yield now;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      release();
    }
  }

  return {
    status: (service) => current.get(service),
    statuses: () => new Map(current),
    dependencies: () => new Map(results),
    addService(service) {
      if (known.has(service)) return;
      known.add(service);
      publish();
    },
    checkNow,
    setDraining() {
      if (draining) return;
      draining = true;
      clearInterval(timer);
      publish();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    watch,
    close() {
      if (closing.signal.aborted) return;
      clearInterval(timer);
      closing.abort(new Error("health monitor closed"));
      for (const wake of wakers) wake();
      wakers.clear();
      listeners.clear();
    },
  };
}
