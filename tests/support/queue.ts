/**
 * What a `push --queue-dir` directory holds, read as a test sees it: every sample of every
 * complete record (records torn by a kill never reached the queue and are left out).
 *
 * @module
 */
import { decodeWriteRequest } from "../../lib/remote/codec/write_request.ts";
import { snappyDecode } from "../../lib/remote/codec/snappy.ts";
import { parseQueueFile } from "../../lib/remote/push/disk_queue.ts";
import { spawnWattwave } from "./cli.ts";
import { waitUntil } from "./lines.ts";
import { collect } from "./net.ts";

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

/** Options of {@linkcode pushIntoQueue}. */
export interface PushIntoQueueOptions {
  /** The remote-write URL (down, for an outage). */
  url: string;
  /** The queue directory. */
  dir: string;
  /** NDJSON lines to feed on stdin. */
  lines: string[];
  /** More push flags (`--batch-size`, `--shutdown-grace`, ...). Default none. */
  flags?: string[];
  /**
   * Send SIGKILL once this many more samples are in the queue (the run's own progress) instead
   * of closing stdin. Default: no kill, stdin is closed and the run ends by itself.
   */
  killAfterQueued?: number;
}

/** Runs `push --queue-dir` on `lines`, killed or ending by itself; returns how it ended. */
export async function pushIntoQueue(
  o: PushIntoQueueOptions,
): Promise<{ status: Deno.CommandStatus; stderr: string }> {
  const child = spawnWattwave(
    ["push", "--url", o.url, "--queue-dir", o.dir, ...(o.flags ?? [])],
    { stdin: "piped" },
  );
  const stderr = collect(child.stderr);
  const stdout = collect(child.stdout);
  const before = (await queuedSamples(o.dir).catch(() => [])).length;
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(o.lines.join("\n") + "\n"));
  if (o.killAfterQueued !== undefined) {
    const want = before + o.killAfterQueued;
    await waitUntil(
      async () => (await queuedSamples(o.dir)).length >= want,
      "batches in the queue",
    );
    child.kill("SIGKILL");
    await w.close().catch(() => {});
  } else await w.close();
  const status = await child.status;
  await stdout;
  return { status, stderr: await stderr };
}
