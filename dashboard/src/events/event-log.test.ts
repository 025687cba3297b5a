import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EventType, MeshEventSchema } from "../../../gen/mesh/control/v1/events_pb.ts";
import { distinct, eventTone, eventTypeLabel, matchesFilter, mergeEvents, noFilter } from "./event-log.ts";

const ev = (sequence: number, fields: Partial<{ type: EventType; service: string; instanceId: string; message: string }> = {}) =>
  create(MeshEventSchema, { sequence: BigInt(sequence), type: EventType.INSTANCE_UP, service: "backend", instanceId: "backend-1", message: "up", ...fields });

describe("mergeEvents", () => {
  it("keeps each sequence once, newest first, bounded", () => {
    const merged = mergeEvents([ev(1), ev(3)], [ev(2), ev(3), ev(5)], 3);
    expect(merged.map((e) => e.sequence)).toEqual([5n, 3n, 2n]);
  });
});

describe("matchesFilter", () => {
  const e = ev(1, { type: EventType.BREAKER_OPENED, service: "backend", instanceId: "backend-2", message: "Breaker OPENED on gateway-1" });
  it.each([
    [noFilter, true],
    [{ ...noFilter, type: EventType.BREAKER_OPENED }, true],
    [{ ...noFilter, type: EventType.BREAKER_CLOSED }, false],
    [{ ...noFilter, service: "backend" }, true],
    [{ ...noFilter, service: "api" }, false],
    [{ ...noFilter, instance: "backend-2" }, true],
    [{ ...noFilter, instance: "backend-1" }, false],
    [{ ...noFilter, text: "gateway-1" }, true],
    [{ ...noFilter, text: "breaker opened" }, true],
    [{ ...noFilter, text: "  " }, true],
    [{ ...noFilter, text: "scaled" }, false],
  ])("%j → %s", (filter, expected) => expect(matchesFilter(e, filter)).toBe(expected));
});

describe("labels and choices", () => {
  it("gives a health change the tone of the state it reached", () => {
    const health = (state?: string) => ({ type: EventType.INSTANCE_HEALTH_CHANGED, attributes: state === undefined ? undefined : { state } });
    expect(eventTone(health("SERVING"))).toBe("ok");
    expect(eventTone(health("NOT_SERVING"))).toBe("failing");
    expect(eventTone(health())).toBe("degraded");
    expect(eventTone({ type: EventType.BREAKER_OPENED, attributes: undefined })).toBe("failing");
  });

  it("names types for people", () => {
    expect(eventTypeLabel(EventType.LOAD_TEST_FINISHED)).toBe("load test finished");
  });

  it("lists distinct services and instances", () => {
    const events = [ev(1, { instanceId: "backend-10" }), ev(2, { instanceId: "backend-2" }), ev(3, { instanceId: "" }), ev(4, { instanceId: "backend-2" })];
    expect(distinct(events, "instanceId")).toEqual(["backend-2", "backend-10"]);
    expect(distinct(events, "service")).toEqual(["backend"]);
  });
});
