import { createClient, type Transport } from "@connectrpc/connect";
import { BreakerService, type InstanceBreaker } from "../../../gen/mesh/control/v1/breaker_pb.ts";

/**
 * The mesh-wide breakers, each with its gateway's golden metrics for the instance, as a server stream:
 * BreakerService.WatchBreakers sends the whole view whenever it changes (gateways report every few seconds).
 */
export function breakerFeed(transport: Transport): (signal: AbortSignal) => AsyncIterable<InstanceBreaker[]> {
  const client = createClient(BreakerService, transport);
  return async function* watchBreakers(signal) {
    for await (const view of client.watchBreakers({}, { signal })) yield view.breakers;
  };
}
