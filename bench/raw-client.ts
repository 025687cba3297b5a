/**
 * Called once per request, never synchronously from `send`: undefined when the answer counts as a success
 * (a 2xx over HTTP/1.1; a message then trailers over gRPC), otherwise what went wrong.
 */
export type Done = (error: string | undefined) => void;

/** A client of the load generator: `encode` builds a request once, `send` sends it as often as asked. */
export interface RawClient<R> {
  encode(path: string, body: Buffer | undefined, headers: Record<string, string> | undefined): R;
  /** Sends one request; `done` is called exactly once, later. */
  send(request: R, done: Done): void;
  close(): void;
}
