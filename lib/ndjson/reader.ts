/**
 * Reading NDJSON from stdin or files: validated records in batches, bad lines reported.
 *
 * @module
 */
import type { NdjsonRecord } from "../model/sample.ts";
import { InputError } from "../errors.ts";
import { BadLine, parseLine } from "./contract.ts";
import { parseCanonicalSampleBytes } from "./fast_parse.ts";
import { byteLinesOf } from "./lines.ts";

/** Options of {@linkcode readNdjson}. */
export interface ReadNdjsonOptions {
  /** Stop at the first bad line (throw {@linkcode InputError}) instead of skipping it. Default false. */
  strict?: boolean;
  /** Called for each skipped bad line with `source:line: reason`. Default: write it to stderr. */
  onBadLine?: (message: string) => void;
}

/** Counters kept while reading, for the end-of-run summary. */
export interface ReadStats {
  /** Lines read (blank lines excluded). */
  lines: number;
  /** Bad lines skipped. */
  badLines: number;
  /** Bytes of input consumed. */
  bytes: number;
}

/** A named input: `-` (or none) is stdin, anything else a file path. */
export interface NdjsonSource {
  /** Name used in messages (`stdin` or the path). */
  name: string;
  /** The bytes. */
  stream: ReadableStream<Uint8Array>;
}

/**
 * The record in the line `bytes[start, end)` (a range from `byteLinesOf`; `start` -1 is an
 * oversized line of `end` bytes), or null for a blank line. Canonical sample lines are parsed
 * from their bytes; others are decoded with `decoder` and validated by the zod schemas.
 * Throws {@linkcode BadLine} for a bad line.
 */
export function parseLineAt(
  bytes: Uint8Array,
  start: number,
  end: number,
  decoder: TextDecoder,
): NdjsonRecord | null {
  if (start < 0) throw new BadLine(`line of ${end} bytes is longer than the 1 MiB limit`);
  const fast = parseCanonicalSampleBytes(bytes, start, end);
  if (fast !== undefined) return fast;
  const line = decoder.decode(bytes.subarray(start, end));
  if (line.trim() === "") return null;
  return parseLine(line);
}

/** Input bytes of the line range `[start, end)` from `byteLinesOf`, its newline included. */
export function lineBytes(start: number, end: number): number {
  return start >= 0 ? end - start + 1 : end + 1;
}

/** Opens the NDJSON inputs named on a command line: none or `-` means stdin. */
export async function openSources(paths: string[]): Promise<NdjsonSource[]> {
  if (paths.length === 0) paths = ["-"];
  const out: NdjsonSource[] = [];
  for (const p of paths) {
    if (p === "-") out.push({ name: "stdin", stream: Deno.stdin.readable });
    else {
      let f: Deno.FsFile;
      try {
        f = await Deno.open(p, { read: true });
      } catch (err) {
        if (err instanceof Deno.errors.NotCapable) throw err;
        throw new InputError(`cannot open input file: ${(err as Error).message}`, { where: p });
      }
      if ((await f.stat()).isDirectory) {
        f.close();
        throw new InputError("cannot read input file: it is a directory", { where: p });
      }
      out.push({ name: p, stream: f.readable });
    }
  }
  return out;
}

/**
 * Reads the sources one after the other and yields batches of valid records.
 * Memory is bounded by one input chunk's records: nothing is buffered beyond it.
 * Canonical sample lines are parsed from their bytes; other lines are decoded (UTF-8, bad
 * sequences as U+FFFD) and go through JSON.parse and the zod schemas.
 */
export async function* readNdjson(
  sources: NdjsonSource[],
  stats: ReadStats,
  options: ReadNdjsonOptions = {},
): AsyncGenerator<NdjsonRecord[]> {
  const onBadLine = options.onBadLine ?? ((m: string) => console.error(`wattwave: bad line ${m}`));
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true }); // only the stream-start BOM is dropped
  for (const source of sources) {
    for await (const batch of byteLinesOf(source.stream)) {
      const { bytes, starts, ends } = batch;
      const records: NdjsonRecord[] = [];
      for (let i = 0; i < starts.length; i++) {
        stats.bytes += lineBytes(starts[i], ends[i]);
        let record: NdjsonRecord | null;
        try {
          record = parseLineAt(bytes, starts[i], ends[i], decoder);
        } catch (err) {
          if (!(err instanceof BadLine)) throw err;
          stats.lines++;
          const where = `${source.name}:${batch.firstLineNo + i}`;
          if (options.strict) {
            if (records.length) yield records; // what came before the bad line is still delivered
            throw new InputError(`bad NDJSON line: ${err.message}`, { where });
          }
          stats.badLines++;
          onBadLine(`${where}: ${err.message}`);
          continue;
        }
        if (record === null) continue;
        stats.lines++;
        records.push(record);
      }
      if (records.length) yield records;
    }
  }
}
