/**
 * Reading NDJSON from stdin or files: validated records in batches, bad lines reported.
 *
 * @module
 */
import type { NdjsonRecord } from "../model/sample.ts";
import { InputError } from "../errors.ts";
import { BadLine, parseLine } from "./contract.ts";
import { linesOf, OVERSIZED_LINE_MARK } from "./lines.ts";

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
  /** Bytes of input consumed, as UTF-16 characters of decoded text (close to bytes for ASCII). */
  chars: number;
}

/** A named input: `-` (or none) is stdin, anything else a file path. */
export interface NdjsonSource {
  /** Name used in messages (`stdin` or the path). */
  name: string;
  /** The bytes. */
  stream: ReadableStream<Uint8Array>;
}

/** Opens the NDJSON inputs named on a command line: none or `-` means stdin. */
export async function openSources(paths: string[]): Promise<NdjsonSource[]> {
  if (paths.length === 0) paths = ["-"];
  const out: NdjsonSource[] = [];
  for (const p of paths) {
    if (p === "-") out.push({ name: "stdin", stream: Deno.stdin.readable });
    else {
      try {
        const f = await Deno.open(p, { read: true });
        out.push({ name: p, stream: f.readable });
      } catch (err) {
        throw new InputError(`cannot open input file: ${(err as Error).message}`, { where: p });
      }
    }
  }
  return out;
}

/**
 * Reads the sources one after the other and yields batches of valid records.
 * Memory is bounded by one input chunk's records: nothing is buffered beyond it.
 */
export async function* readNdjson(
  sources: NdjsonSource[],
  stats: ReadStats,
  options: ReadNdjsonOptions = {},
): AsyncGenerator<NdjsonRecord[]> {
  const onBadLine = options.onBadLine ?? ((m: string) => console.error(`wattwave: bad line ${m}`));
  for (const source of sources) {
    for await (const batch of linesOf(source.stream)) {
      const records: NdjsonRecord[] = [];
      for (let i = 0; i < batch.lines.length; i++) {
        const line = batch.lines[i];
        stats.chars += line.length + 1;
        if (line.trim() === "") continue;
        stats.lines++;
        try {
          if (line.startsWith(OVERSIZED_LINE_MARK)) {
            throw new BadLine(
              `line of ${
                line.slice(OVERSIZED_LINE_MARK.length)
              } characters is longer than the 1 MiB limit`,
            );
          }
          records.push(parseLine(line));
        } catch (err) {
          if (!(err instanceof BadLine)) throw err;
          const where = `${source.name}:${batch.firstLineNo + i}`;
          if (options.strict) {
            if (records.length) yield records; // what came before the bad line is still delivered
            throw new InputError(`bad NDJSON line: ${err.message}`, { where });
          }
          stats.badLines++;
          onBadLine(`${where}: ${err.message}`);
        }
      }
      if (records.length) yield records;
    }
  }
}
