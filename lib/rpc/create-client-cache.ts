import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createClientTracingInterceptor } from "../telemetry/tracing-interceptors.ts";

export interface ClientCache<S extends DescService> {
  /** The client for an instance's base URL: one HTTP/2 connection per address, reused. */
  get(address: string): Client<S>;
  /** Drops the client of an address that left. */
  forget(address: string): void;
}

/** gRPC clients of one service for many instances, keyed by address, with client tracing. */
export function createClientCache<S extends DescService>(service: S, interceptors: Interceptor[] = [createClientTracingInterceptor()]): ClientCache<S> {
  const clients = new Map<string, Client<S>>();
  return {
    get(address) {
      let client = clients.get(address);
      if (!client) {
        client = createClient(service, createGrpcTransport({ baseUrl: address, interceptors, idleConnectionTimeoutMs: 60_000 }));
        clients.set(address, client);
      }
      return client;
    },
    forget: (address) => void clients.delete(address),
  };
}
