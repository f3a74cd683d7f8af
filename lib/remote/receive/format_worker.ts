/**
 * Worker entry of {@linkcode NdjsonFormatPool} (`format_pool.ts`): snappy-decodes, decodes,
 * validates and formats one remote-write body as NDJSON bytes, off the main thread; the bytes
 * are transferred back.
 *
 * @module
 */
import { serveJobs } from "../../workers/serve.ts";
import { formatBody, type FormatJob, type Formatted } from "./format_job.ts";

serveJobs<FormatJob, Formatted>({
  run: (job) => {
    const out = formatBody(job);
    return { result: out, transfer: [out.bytes.buffer as ArrayBuffer] };
  },
});
