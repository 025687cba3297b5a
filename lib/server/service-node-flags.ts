import { fileURLToPath } from "node:url";

/**
 * Node options for every service process (backend, gateway, control), however it is started: by
 * `npm start`, by control's local supervisor, by tests and benchmarks, or in the image (NODE_OPTIONS): V8 heap
 * limits and the compile cache.
 *
 * Node sizes the heap for the machine: on a 24 GiB host a busy service let its young generation grow to tens of
 * MB and its old generation to hundreds before collecting, so a process whose live heap is about 40 MB reached
 * 400 MB of RSS, and scavenges of a grown young generation paused it for 45-190 ms (the p99). A 4 MB
 * semi-space keeps the young generation, and so each scavenge, small; 128 MB of old space bounds the heap while leaving
 * three times the live set, and makes V8 collect before it grows. Memory-pressure faults allocate Buffers,
 * outside this limit.
 *
 * The preload enable-compile-cache.mjs comes first, so that no TypeScript is stripped on a restart (the image
 * gets the same from NODE_COMPILE_CACHE).
 */
export const serviceNodeFlags: readonly string[] = [
  "--max-semi-space-size=4",
  "--max-old-space-size=128",
  "--import",
  fileURLToPath(new URL("./enable-compile-cache.mjs", import.meta.url)),
];
