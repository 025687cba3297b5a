import { EventType } from "../../../../gen/mesh/control/v1/events_pb.ts";
import { ServingState, ServingStateSchema } from "../../../../gen/mesh/control/v1/registry_pb.ts";
import type { Logger } from "../../../../lib/logging/create-logger.ts";
import type { RegistryState } from "../registry/registry-state.ts";
import type { EventLog, NewEvent } from "./event-log.ts";

/** Turns registry changes into mesh events: instance up, down, and health changes. Returns the unsubscribe. */
export function recordRegistryEvents(registry: RegistryState, log: EventLog, logger: Logger): () => void {
  const known = new Map<string, { service: string; state: ServingState }>();
  const append = (event: NewEvent) => {
    log.append(event).catch((err: unknown) => logger.warn({ err, type: event.type }, "could not record a mesh event"));
  };
  return registry.subscribe((change) => {
    const event = change.event;
    if (event.case === "instanceUpserted") {
      const instance = event.value;
      const before = known.get(instance.id);
      known.set(instance.id, { service: instance.service, state: instance.state });
      if (before === undefined) {
        append({
          type: EventType.INSTANCE_UP,
          service: instance.service,
          instanceId: instance.id,
          message: `${instance.id} registered at ${instance.address}`,
          attributes: { address: instance.address, version: instance.version },
        });
      } else if (before.state !== instance.state && instance.state !== ServingState.UNSPECIFIED) {
        const state = ServingStateSchema.value[instance.state]?.localName ?? String(instance.state);
        append({
          type: EventType.INSTANCE_HEALTH_CHANGED,
          service: instance.service,
          instanceId: instance.id,
          message: `${instance.id} is ${state}`,
          attributes: { state },
        });
      }
    } else if (event.case === "instanceRemoved") {
      const before = known.get(event.value);
      known.delete(event.value);
      append({
        type: EventType.INSTANCE_DOWN,
        service: before?.service ?? "",
        instanceId: event.value,
        message: `${event.value} left the registry`,
      });
    }
  });
}
