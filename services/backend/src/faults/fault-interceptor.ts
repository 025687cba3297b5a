import { durationMs } from "@bufbuild/protobuf/wkt";
import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor, type StreamRequest, type StreamResponse, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { Code as RpcCode } from "../../../../gen/google/rpc/code_pb.ts";
import type { Fault } from "../../../../gen/mesh/chaos/v1/fault_pb.ts";
import type { FaultRegistry } from "./fault-registry.ts";
import { delay } from "../../../../lib/async/pause.ts";

export interface FaultInterceptorOptions {
  /** A number in [0, 1). @default Math.random */
  random?: () => number;
  /** How long a hang lasts when the call has no deadline. @default 5 minutes */
  maxHangMs?: number;
}

/**
 * Carries out the call-level faults (hang, latency, error rate) of the registry on every RPC they apply to,
 * before the handler runs. A fault with rate 0 affects every call; otherwise each call is drawn separately.
 */
export function createFaultInterceptor(faults: FaultRegistry, options: FaultInterceptorOptions = {}): Interceptor {
  const random = options.random ?? Math.random;
  const maxHangMs = options.maxHangMs ?? 300_000;
  const hits = (rate: number) => rate === 0 || random() < rate;
  // Per method, its procedure name, so that a call does not build the string again.
  const procedures = new WeakMap<object, string>();
  return (next) => (req) => {
    let procedure = procedures.get(req.method);
    if (procedure === undefined) {
      procedure = `${req.service.typeName}/${req.method.name}`;
      procedures.set(req.method, procedure);
    }
    const active = faults.matching(procedure);
    // Without a fault that applies, the call goes straight on: no async frame of this interceptor's own.
    return active.length === 0 ? next(req) : withFaults(active, req, next);
  };

  async function withFaults<I extends DescMessage, O extends DescMessage>(
    active: readonly Fault[],
    req: UnaryRequest<I, O> | StreamRequest<I, O>,
    next: (req: UnaryRequest<I, O> | StreamRequest<I, O>) => Promise<UnaryResponse<I, O> | StreamResponse<I, O>>,
  ) {
    for (const fault of active) {
      const spec = fault.spec;
      if (spec.case === "hang" && hits(spec.value.rate)) {
        await delay(maxHangMs, req.signal);
        throw new ConnectError("the call hung (fault injected)", Code.DeadlineExceeded);
      }
    }
    for (const fault of active) {
      const spec = fault.spec;
      if (spec.case === "latency" && hits(spec.value.rate)) {
        const ms = durationMs(spec.value.delay!) + (spec.value.jitter ? random() * durationMs(spec.value.jitter) : 0);
        await delay(ms, req.signal);
      }
    }
    for (const fault of active) {
      const spec = fault.spec;
      if (spec.case === "errorRate" && random() < spec.value.rate) {
        const code = spec.value.code === RpcCode.OK ? Code.Unavailable : (spec.value.code as number as Code);
        throw new ConnectError(`simulated failure (fault ${fault.id})`, code);
      }
    }
    return next(req);
  }
}
