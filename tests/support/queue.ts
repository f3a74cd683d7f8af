/**
 * What a `push --queue-dir` directory holds, read as a test sees it: every sample of every
 * complete record (records torn by a kill never reached the queue and are left out).
 *
 * @module
 */
import { decodeWriteRequest } from "../../lib/remote/codec/write_request.ts";
import { snappyDecode } from "../../lib/remote/codec/snappy.ts";
import { parseQueueFile } from "../../lib/remote/push/disk_queue.ts";

/** One queued sample: its series' labels (with `__name__`) and timestamp. */
export interface QueuedSample {
  labels: Record<string, string>;
  timestampMs: number;
}

/** Every sample in the queue directory `dir`. */
export async function queuedSamples(dir: string): Promise<QueuedSample[]> {
  const out: QueuedSample[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".wwq")) continue;
    for (const rec of parseQueueFile(await Deno.readFile(`${dir}/${e.name}`)).records) {
      for (const s of decodeWriteRequest(snappyDecode(rec.body, 1 << 26)).series) {
        const labels = Object.fromEntries(s.labels);
        for (const t of s.timestampsMs) out.push({ labels, timestampMs: t });
      }
    }
  }
  return out;
}
