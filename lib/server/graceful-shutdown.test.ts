import { EventEmitter } from "node:events";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { Logger } from "../logging/create-logger.ts";
import { flushed } from "./graceful-shutdown.ts";

/** A destination shaped like pino's asynchronous one (sonic-boom): a write may be in flight when flushed() runs. */
function destination(writing: boolean) {
  const stream = Object.assign(new EventEmitter(), {
    lines: [] as string[],
    _writing: writing,
    flushes: 0,
    write(line: string) {
      stream.lines.push(line);
      return true;
    },
    flushSync() {
      stream.flushes++;
    },
  });
  return stream;
}

describe("flushed", () => {
  it("waits for the write in flight to drain before flushing what is buffered", async () => {
    const stream = destination(true);
    const logger = pino({}, stream) as unknown as Logger;
    let done = false;
    const flushing = flushed(logger).then(() => {
      done = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    expect(stream.flushes).toBe(0);
    stream._writing = false;
    stream.emit("drain");
    await flushing;
    expect(stream.flushes).toBe(1);
  });

  it("flushes at once when nothing is in flight", async () => {
    const stream = destination(false);
    await flushed(pino({}, stream) as unknown as Logger);
    expect(stream.flushes).toBe(1);
  });
});
