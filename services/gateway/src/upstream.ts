import http2 from "node:http2";

/** One upstream instance with its own HTTP/2 connection, opened on first use and again after it closes. */
export interface Upstream {
  readonly url: string;
  session(): http2.ClientHttp2Session;
  close(): void;
}

export function createUpstream(url: string): Upstream {
  let current: http2.ClientHttp2Session | undefined;
  return {
    url,
    session() {
      if (current && !current.closed && !current.destroyed) return current;
      const session = http2.connect(url);
      // Errors surface on each request's stream; the session is replaced on next use.
      session.on("error", () => {});
      session.on("close", () => {
        if (current === session) current = undefined;
      });
      // An idle connection to an upstream must not keep the gateway alive at shutdown.
      session.unref();
      current = session;
      return session;
    },
    close() {
      current?.close();
      current = undefined;
    },
  };
}

/** Picks upstreams in turn. Load-balancing policies replace this with Gateway II. */
export function roundRobin<T>(items: readonly T[]): () => T {
  let next = 0;
  return () => {
    const item = items[next % items.length]!;
    next = (next + 1) % items.length;
    return item;
  };
}
