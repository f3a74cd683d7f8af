/**
 * The worker modules of wattwave, in one list: the pools start them from here, and
 * `deno task compile` (`tools/compile.ts`) includes each in the binary.
 *
 * @module
 */

/** Every worker module, by pool. */
export const WORKER_MODULES = {
  /** `receive`: decodes remote-write bodies and formats them as NDJSON. */
  format: new URL("../remote/receive/format_worker.ts", import.meta.url),
  /** `push`: parses NDJSON lines into sample columns. */
  parse: new URL("../ndjson/parse_worker.ts", import.meta.url),
  /** `serve-read`: reads and encodes series from the store. */
  read: new URL("../remote/read/read_worker.ts", import.meta.url),
  /** `receive --store`, `serve-read --write-path`: decodes remote-write bodies into the store. */
  store: new URL("../remote/receive/store_worker.ts", import.meta.url),
} as const;
