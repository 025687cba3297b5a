import { fileURLToPath } from "node:url";

/**
 * Node options for every service process (backend, gateway, control), however it is started: by
 * `npm start`, by control's local supervisor, by tests and benchmarks, or in the image (NODE_OPTIONS and its
 * ENTRYPOINT): V8 heap limits and tuning, and the compile cache.
 *
 * Node sizes the heap for the machine: on a 24 GiB host a busy service let its young generation grow to tens of
 * MB and its old generation to hundreds before collecting, so a process whose live heap is about 40 MB reached
 * 400 MB of RSS, and scavenges of a grown young generation paused it for 45-190 ms (the p99). A 4 MB
 * semi-space keeps the young generation, and so each scavenge, small; 128 MB of old space bounds the heap while leaving
 * three times the live set, and makes V8 collect before it grows. Memory-pressure faults allocate Buffers,
 * outside this limit.
 *
 * --no-allocation-site-pretenuring: V8 allocates straight into old space the objects of any site whose objects
 * mostly survived a scavenge. In a service, sites that made long-lived objects at start-up go on making
 * per-request ones, which then die in old space, and they keep the young objects they point to alive until a full
 * collection. With it, a warm backend serving 1,000 cache hits a second over HTTP/1.1 promoted 80 KB/s
 * instead of 450 KB/s (2.3 MB/s over gRPC before, 1.3 MB/s after), so a full collection, and its pause of several
 * milliseconds, comes that much less often. Node does not accept this V8 flag in NODE_OPTIONS: the image passes
 * it on the command line (the Dockerfile's ENTRYPOINT).
 *
 * The preload enable-compile-cache.mjs comes first, so that no TypeScript is stripped on a restart (the image
 * gets the same from NODE_COMPILE_CACHE).
 */
export const serviceNodeFlags: readonly string[] = [
  "--max-semi-space-size=4",
  "--max-old-space-size=128",
  "--no-allocation-site-pretenuring",
  "--import",
  fileURLToPath(new URL("./enable-compile-cache.mjs", import.meta.url)),
];
