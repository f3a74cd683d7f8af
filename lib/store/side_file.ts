/**
 * Side files: `DIR/segments/<writerTag>-<n>.side.gz`, gzip of one JSON line per series (see
 * `side_record.ts`) holding the native histograms, exemplars and start timestamps one commit
 * brought. Written under a final, unique name and fsynced before the commit's index record names
 * it (like FLAC segments); `zcat` shows them.
 *
 * @module
 */
import { gunzipSync, gzip, type ZlibOptions } from "node:zlib";
import { promisify } from "node:util";
import { InputError } from "../errors.ts";
import type { LabelPairs } from "../model/labels.ts";
import { decodeSideRecord, type SideData } from "./side_record.ts";

/** Suffix of side file names. */
export const SIDE_SUFFIX = ".side.gz";

const gzipAsync = promisify(gzip) as (
  bytes: Uint8Array,
  options: ZlibOptions,
) => Promise<Uint8Array>;

/** Writes the side-file `lines` (one per series) to `path` and fsyncs it. Returns its size in bytes. */
export async function writeSideFile(path: string, lines: string[]): Promise<number> {
  const bytes = await gzipAsync(new TextEncoder().encode(lines.join("\n") + "\n"), { level: 6 });
  const f = await Deno.open(path, { write: true, createNew: true });
  try {
    let written = 0;
    while (written < bytes.length) written += await f.write(bytes.subarray(written));
    await f.syncData();
  } finally {
    f.close();
  }
  return bytes.length;
}

/** One series' records of a side file. */
export interface SideFileSeries {
  /** Label pairs (sorted, with `__name__`). */
  labels: LabelPairs;
  /** What the file holds for it. */
  data: SideData;
}

/** Reads a side file; throws {@linkcode InputError} naming it when it is missing or damaged. */
export async function readSideFile(path: string): Promise<SideFileSeries[]> {
  let text: string;
  try {
    text = new TextDecoder().decode(gunzipSync(await Deno.readFile(path)));
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "missing" : (err as Error).message;
    throw new InputError(`side file unreadable: ${why}`, { where: path, cause: err });
  }
  const out: SideFileSeries[] = [];
  for (const line of text.split("\n")) if (line) out.push(decodeSideRecord(line, path));
  return out;
}
