import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { InstanceSchema, RegistryService } from "../../gen/mesh/control/v1/registry_pb.ts";
import type { Logger } from "../logging/create-logger.ts";
import { pause } from "../async/pause.ts";

export interface RegistrationOptions {
  /** The control plane's base URL. */
  controlUrl: string;
  instance: {
    id: string;
    service: string;
    address: string;
    version: string;
    rpcServices: readonly string[];
    metadata?: Readonly<Record<string, string>>;
  };
  logger: Logger;
  /** @default 15000 */
  leaseTtlMs?: number;
  /** For tests. @default gRPC to controlUrl */
  transport?: Transport;
  /** Interceptors of the default transport, such as the service credential's. */
  interceptors?: Interceptor[];
  /** Retry delays after failures grow from this up to 10 s, with jitter. @default 500 */
  retryBaseMs?: number;
}

export interface Registration {
  /** Stops heartbeating and deregisters (best effort, bounded by `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Registers this instance with the control plane and keeps its lease alive in the background. Start-up never
 * waits for control: while control is unreachable the loop retries with backoff, and a lease control no longer
 * knows (it restarted, or the lease expired) is replaced by registering again.
 */
export function startRegistration(options: RegistrationOptions): Registration {
  const { logger } = options;
  const client = createClient(RegistryService, options.transport ?? createGrpcTransport({ baseUrl: options.controlUrl, interceptors: options.interceptors ?? [] }));
  const ttlMs = options.leaseTtlMs ?? 15_000;
  const retryBaseMs = options.retryBaseMs ?? 500;
  const stopped = new AbortController();
  let lease: string | undefined;

  async function loop(): Promise<void> {
    let failures = 0;
    let reachable = true;
    while (!stopped.signal.aborted) {
      let waitMs: number;
      try {
        if (lease === undefined) {
          const res = await client.register(
            { instance: create(InstanceSchema, { ...options.instance, rpcServices: [...options.instance.rpcServices] }), leaseTtl: durationFromMs(ttlMs) },
            { signal: stopped.signal, timeoutMs: 5000 },
          );
          lease = res.leaseId;
          logger.info({ control: options.controlUrl }, "registered with the control plane");
          waitMs = res.heartbeatInterval ? durationMs(res.heartbeatInterval) : ttlMs / 3;
        } else {
          await client.heartbeat({ instanceId: options.instance.id, leaseId: lease }, { signal: stopped.signal, timeoutMs: 5000 });
          waitMs = ttlMs / 3;
        }
        if (!reachable) logger.info("control plane reachable again");
        reachable = true;
        failures = 0;
      } catch (err) {
        if (stopped.signal.aborted) return;
        const code = ConnectError.from(err).code;
        if (code === Code.NotFound) {
          logger.warn("the control plane no longer knows this lease; registering again");
          lease = undefined;
          waitMs = 0;
        } else {
          if (reachable) logger.warn({ err: { message: ConnectError.from(err).rawMessage, code: Code[code] } }, "control plane unreachable; retrying");
          reachable = false;
          failures++;
          const ceiling = Math.min(retryBaseMs * 2 ** (failures - 1), 10_000);
          waitMs = ceiling / 2 + Math.random() * (ceiling / 2);
        }
      }
      await pause(waitMs, stopped.signal);
    }
  }

  const running = loop();
  return {
    async stop(timeoutMs = 2000) {
      stopped.abort();
      await running;
      if (lease === undefined) return;
      try {
        await client.deregister({ instanceId: options.instance.id, leaseId: lease }, { timeoutMs });
        logger.info("deregistered from the control plane");
      } catch (err) {
        logger.warn({ err: { message: ConnectError.from(err).rawMessage } }, "could not deregister; the lease will expire");
      }
    },
  };
}
