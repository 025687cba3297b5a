// Test support for the unary fast paths: a DataService whose GetItem shows what the fast path must carry
// (headers, trailers, errors with metadata, cancellation), and an interceptor that records each call.
import { Code, ConnectError, createServiceImplSpec, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { DataService } from "../../../gen/mesh/data/v1/data_pb.ts";
import type { UnarySpec } from "../unary-call.ts";

export interface UnaryFastPathFixture {
  /** DataService's unary methods by request path, as the mesh server hands them to a fast path. */
  readonly methods: ReadonlyMap<string, UnarySpec>;
  /** Records `<method> <x-caller>` of each call and adds `x-intercepted: 1` to its response. */
  readonly interceptor: Interceptor;
  /** What the interceptor saw. */
  readonly seen: string[];
  /** The handler's signal of each call, in order. */
  readonly signals: AbortSignal[];
}

/**
 * GetItem answers `item <id>` with `x-handler` (the protocol) and the trailer `x-trailer`; the id "missing"
 * fails NotFound with `x-detail` metadata, "hang" waits for the call's signal, and "bad-header" sets a response
 * header that Node's HTTP/1.1 server refuses to write (web Headers accept the control character).
 */
export function createUnaryFastPathFixture(): UnaryFastPathFixture {
  const seen: string[] = [];
  const signals: AbortSignal[] = [];
  const impl: Partial<ServiceImpl<typeof DataService>> = {
    async getItem(req, ctx) {
      signals.push(ctx.signal);
      if (req.id === "missing") throw new ConnectError("item missing was not found", Code.NotFound, { "x-detail": "yes" });
      if (req.id === "bad-header") ctx.responseHeader.set("x-bad", "a\u0001b");
      if (req.id === "hang") {
        await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error)));
      }
      ctx.responseHeader.set("x-handler", ctx.protocolName);
      ctx.responseTrailer.set("x-trailer", "t");
      return { item: { id: req.id, name: `item ${req.id}` }, cached: true };
    },
  };
  const interceptor: Interceptor = (next) => async (req) => {
    seen.push(`${req.method.name} ${req.header.get("x-caller") ?? ""}`);
    const res = await next(req);
    res.header.set("x-intercepted", "1");
    return res;
  };
  const methods = new Map<string, UnarySpec>();
  for (const spec of Object.values(createServiceImplSpec(DataService, impl).methods)) {
    if (spec.kind === "unary") methods.set(`/${DataService.typeName}/${spec.method.name}`, spec as UnarySpec);
  }
  return { methods, interceptor, seen, signals };
}
