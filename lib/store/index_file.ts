/**
 * The store index: FLAC files, series labels → sample ranges in those files, and metric
 * metadata, as gzip-compressed JSON in `DIR/index.json.gz` (the checkpoint, replaced
 * atomically, see `atomic_file.ts`; commits in between go to the journal, `index_log.ts`). Read
 * it by hand with `zcat DIR/index.json.gz | jq .` (the README has a jq program that turns it into
 * one object per series, resolving the string and file references).
 *
 * On disk, label names and values are indexes into one `strings` table (a series list repeats
 * the same few strings thousands of times; gzip's 32 KiB window would not see most repeats), a
 * range names its file by index into `files`, and series and ranges are columns (version 5, see
 * `index_columns.ts`; versions 2-4, an object per series and range, are still read). In memory
 * ({@linkcode StoreIndex}) labels are string pairs and ranges are rows of a table
 * (`range_table.ts`) naming their file.
 *
 * @module
 */
import { gunzipSync } from "node:zlib";
import { InputError } from "../errors.ts";
import { sha256HexPrefix } from "../sha256.ts";
import type { ValueMode } from "./value_map.ts";
import { writeFileDurable } from "./atomic_file.ts";
import { gzipParts, JsonPieces } from "./json_pieces.ts";
import { RangeTable } from "./range_table.ts";
import { SeriesEntry } from "./series_entry.ts";
import {
  type RangeColumns,
  readSeriesColumns,
  type SeriesColumns,
  writeSeriesColumns,
} from "./index_columns.ts";

/** File name of the index inside a store directory. */
export const INDEX_FILE = "index.json.gz";
/** Value of `format` in every index. */
export const INDEX_FORMAT = "wattwave-store";
/**
 * Version of the checkpoints this code writes: 5, whose series and ranges are columns (see
 * `index_columns.ts`). An older wattwave refuses it rather than misread it.
 */
export const INDEX_VERSION = 5;
/**
 * The first version whose journal may hold compaction records (ranges replaced, files retired):
 * a store whose checkpoint is older is checkpointed again before its first such record.
 */
export const COMPACTION_RECORDS_VERSION = 4;
/**
 * Versions this code reads: 2 (no side files), 3 (side files), 4 (compaction records), 5
 * (series and ranges as columns).
 */
export const READABLE_INDEX_VERSIONS: readonly number[] = [2, 3, 4, 5];

/** A value the FLAC channels do not carry: its index in the range and its 16 hex digits of bits. */
export type ExceptionEntry = [index: number, bitsHex: string];

/** One FLAC file in `DIR/segments/`: one or more series ranges, one after the other. */
export interface FileEntry {
  /** File name inside `DIR/segments/`. */
  file: string;
  /** File size in bytes. */
  bytes: number;
  /** Samples per channel in the file (all its ranges). */
  count: number;
  /** FLAC channels: 2 (timestamps, value) or 3 (timestamps, value hi, value lo). */
  channels: number;
  /** FLAC bits per sample of all channels. */
  bps: number;
  /** FLAC block size: frame i holds samples `i * blockSize …` (the last frame may be shorter). */
  blockSize: number;
  /** Byte offset of every frame from the start of the file (`frames[0]` ends the FLAC header). */
  frames: number[];
}

/** The samples of one series stored in a file: `count` samples from sample `at` on. */
export interface RangeEntry {
  /** File name inside `DIR/segments/` (on disk: the index into `files`). */
  file: string;
  /** First sample of the range in the file (per channel). */
  at: number;
  /** Number of samples. */
  count: number;
  /** Smallest timestamp (also the first: samples are sorted). */
  minTs: number;
  /** Largest timestamp (the last). */
  maxTs: number;
  /** Timestamp channel: `ts[i] - ts[i-1] - stepMs`, 0 for the range's first sample. */
  stepMs: number;
  /** How values map to channels (see `value_map.ts`). */
  mode: ValueMode;
  /** Decimal scale k: values are `n / 10^k` (`dec`, `dec2`). */
  scale: number;
  /** Values no scale captures (only `dec`, `dec2`), by index in the range. Omitted when empty. */
  exceptions?: ExceptionEntry[];
  /**
   * Timestamp of the first sample of each frame that starts inside the range (after `at`), for
   * seeking by time. Omitted when no frame starts inside the range.
   */
  seek?: number[];
}

export { SeriesEntry } from "./series_entry.ts";

/** Type, unit and help of a metric name (the NDJSON metadata record). */
export interface MetadataEntry {
  /** Metric family name. */
  name: string;
  /** `counter`, `gauge`, … */
  type: string;
  /** Unit (empty when unknown). */
  unit: string;
  /** Help text (empty when unknown). */
  help: string;
}

/**
 * A side file (`side_file.ts`): the native histograms, exemplars and start timestamps one commit
 * brought, for the series it names.
 */
export interface SideFileEntry {
  /** File name inside `DIR/segments/`. */
  file: string;
  /** File size in bytes. */
  bytes: number;
  /** Native histogram samples in it. */
  histograms: number;
  /** Exemplars in it. */
  exemplars: number;
  /** Start-timestamp runs of float samples in it. */
  starts: number;
  /** Smallest timestamp of anything in it. */
  minTs: number;
  /** Largest timestamp of anything in it. */
  maxTs: number;
  /** Label pairs of its series (on disk: pairs of indexes into `strings`, like a series' labels). */
  series: [string, string][][];
}

/** The whole index, in memory. */
export interface StoreIndex {
  /** Incremented by every commit. */
  generation: number;
  /** FLAC files the ranges refer to, in the order they were committed. */
  files: FileEntry[];
  /** All series, in the order they were first committed. */
  series: SeriesEntry[];
  /** The rows the series' ranges are in (new series add theirs here; see `range_table.ts`). */
  rangeTable: RangeTable;
  /** Metadata per metric name (last one committed wins). */
  metadata: MetadataEntry[];
  /** Files no longer referenced (replaced by compaction), to delete; dropped once deleted. */
  retired: string[];
  /** Side files, in commit order. */
  sides: SideFileEntry[];
  /** Version of the checkpoint this index was read from (absent when made in memory). */
  version?: number;
}

/** An empty index. */
export function emptyIndex(): StoreIndex {
  return {
    generation: 0,
    files: [],
    series: [],
    rangeTable: new RangeTable(),
    metadata: [],
    retired: [],
    sides: [],
  };
}

/** Computes the stable id of a series key. */
export function seriesId(key: string): string {
  return sha256HexPrefix(key, 16);
}

/** The canonical key of label pairs: the metric name, then `\xff name \xfe value` per other label in order. */
export function pairsKey(labels: readonly (readonly [string, string])[]): string {
  let name = "";
  let rest = "";
  for (const [n, v] of labels) {
    if (n === "__name__") name = v;
    else rest += "\xff" + n + "\xfe" + v;
  }
  return name + rest;
}

interface DiskRange extends Omit<RangeEntry, "file"> {
  file: number;
}

interface DiskIndex {
  format: typeof INDEX_FORMAT;
  version: number;
  generation: number;
  strings: string[];
  files: FileEntry[];
  /** Version 5: columns (see `index_columns.ts`); before: an object per series. */
  series: { labels: number[]; ranges: DiskRange[] }[] | SeriesColumns;
  /** Version 5: the ranges' columns. */
  ranges?: RangeColumns;
  metadata: MetadataEntry[];
  retired: string[];
  sides?: (Omit<SideFileEntry, "series"> & { series: number[][] })[];
}

/**
 * The `strings` table of a checkpoint: each label name and value once, by first use.
 *
 * Strings that are array indexes ("0", "9100") are looked up by their number: V8 (Deno 2.9)
 * hashes such a string by its value, and a Map keyed by a million of them made every string
 * hashed for the first time afterwards, anywhere in the process, about 10× slower (a Map of a
 * million fresh series ids: 0.8 s → 8 s).
 */
class StringTable {
  /** The strings, in the order of their ids. */
  readonly strings: string[] = [];
  #ids = new Map<string, number>();
  #indexIds = new Map<number, number>();

  /** The id of `s` (added when new). */
  id(s: string): number {
    const c = s.charCodeAt(0);
    if (c >= 48 && c <= 57 && s.length <= 9) {
      const n = Number(s);
      if (String(n) === s) return this.#lookup(this.#indexIds, n, s);
    }
    return this.#lookup(this.#ids, s, s);
  }

  /** The id `ids` gives `key` (string `s` added to the table when new). */
  #lookup<K>(ids: Map<K, number>, key: K, s: string): number {
    let i = ids.get(key);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      ids.set(key, i);
    }
    return i;
  }

  /** Label pairs as a flat array of string ids: name, value, … */
  pairs(labels: readonly (readonly [string, string])[]): number[] {
    const out = new Array<number>(labels.length * 2);
    for (let i = 0; i < labels.length; i++) {
      out[2 * i] = this.id(labels[i][0]);
      out[2 * i + 1] = this.id(labels[i][1]);
    }
    return out;
  }
}

/** Options of {@linkcode encodeIndexAsync}. */
export interface EncodeIndexOptions {
  /**
   * How many of its ranges each series had when the index was snapshotted (a checkpoint written
   * while commits go on: a series' ranges only ever grow at the end). Default all.
   */
  rangeCounts?: Int32Array;
  /** Pause between slices even on a thread that turned pacing off. Default false. */
  alwaysPace?: boolean;
}

/**
 * Serialises an index: gzip of compact JSON, strings and files referenced by index. The JSON is
 * made in pieces (see `json_pieces.ts`), pausing for the event loop, and compressed off the main
 * thread; an index of a million series took 7 s and two copies of its 180 MB of JSON as one string.
 */
export async function encodeIndexAsync(
  index: StoreIndex,
  options: EncodeIndexOptions = {},
): Promise<Uint8Array> {
  const counts = options.rangeCounts;
  const pieces = () => new JsonPieces({ alwaysPace: options.alwaysPace });
  const table = new StringTable();
  const fileIds = new Map<string, number>();
  index.files.forEach((f, i) => fileIds.set(f.file, i));
  // Everything but `strings` first (they are known once every label was seen), into a second
  // document whose pieces follow the strings.
  const body = pieces();
  body.raw(`,"files":`);
  await body.array(index.files);
  await writeSeriesColumns(body, index.series, counts, (labels) => table.pairs(labels), fileIds);
  body.raw(`,"metadata":`);
  await body.array(index.metadata);
  body.raw(`,"retired":`);
  await body.array(index.retired);
  if (index.sides.length) {
    body.raw(`,"sides":`);
    await body.array(index.sides, (f) => ({ ...f, series: f.series.map((l) => table.pairs(l)) }));
  }
  body.raw("}");
  const head = pieces();
  const version = INDEX_VERSION;
  head.raw(
    `{"format":"${INDEX_FORMAT}","version":${version},"generation":${index.generation},"strings":`,
  );
  await head.array(table.strings);
  const parts = head.finish().concat(body.finish());
  // Level 9 for the usual index (a few MB of JSON); 6 beyond, where 9 took 2.5× the time and
  // was no smaller (147 MB of JSON of a million series: 10.7 MB at 9, 10.1 MB at 6).
  let jsonBytes = 0;
  for (const p of parts) jsonBytes += p.length;
  return await gzipParts(parts, jsonBytes > 16 * 2 ** 20 ? 6 : 9);
}

/** Parses index bytes; throws {@linkcode InputError} naming `where` when they are not an index. */
export function decodeIndex(bytes: Uint8Array, where: string): StoreIndex {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(gunzipSync(bytes)));
  } catch (err) {
    throw new InputError(`not a wattwave store index: ${(err as Error).message}`, { where });
  }
  const disk = parsed as DiskIndex;
  if (disk?.format !== INDEX_FORMAT || typeof disk.series !== "object" || disk.series === null) {
    throw new InputError(
      `not a wattwave store index (format ${JSON.stringify(disk?.format)})`,
      { where },
    );
  }
  if (!READABLE_INDEX_VERSIONS.includes(disk.version)) {
    throw new InputError(
      `unsupported store index version ${disk.version} (this wattwave reads ${
        READABLE_INDEX_VERSIONS.join(", ")
      }; ` +
        `version 1 stores, one FLAC file per series, predate packed files: export them with the wattwave that wrote them)`,
      { where },
    );
  }
  const strings = disk.strings ?? [];
  const files = disk.files ?? [];
  const str = (i: number): string => {
    const s = strings[i];
    if (typeof s !== "string") {
      throw new InputError(`label refers to missing string ${i}`, { where });
    }
    return s;
  };
  // One array per distinct label pair, shared by the series that have it (`instance`, `job`,
  // `__name__` repeat across thousands of series; pairs are never changed in place).
  const pairsByName = new Map<number, Map<number, [string, string]>>();
  const pair = (n: number, v: number): [string, string] => {
    let byValue = pairsByName.get(n);
    if (!byValue) pairsByName.set(n, byValue = new Map());
    let p = byValue.get(v);
    if (!p) byValue.set(v, p = [str(n), str(v)]);
    return p;
  };
  const { series, rangeTable } = disk.version >= 5
    ? readSeriesColumns(
      { series: disk.series, ranges: disk.ranges },
      files,
      pair,
      (labels) => seriesId(pairsKey(labels)),
      where,
    )
    : readSeriesObjects(disk, files, pair, where);
  const pairs = (ids: number[]): [string, string][] => {
    const labels: [string, string][] = [];
    for (let i = 0; i + 1 < ids.length; i += 2) labels.push(pair(ids[i], ids[i + 1]));
    return labels;
  };
  return {
    version: disk.version,
    generation: disk.generation,
    files,
    series,
    rangeTable,
    metadata: disk.metadata ?? [],
    retired: disk.retired ?? [],
    sides: (disk.sides ?? []).map((f) => ({ ...f, series: f.series.map(pairs) })),
  };
}

/** The series of a checkpoint before version 5: an object per series, with its range objects. */
function readSeriesObjects(
  disk: DiskIndex,
  files: readonly FileEntry[],
  pair: (name: number, value: number) => [string, string],
  where: string,
): { series: SeriesEntry[]; rangeTable: RangeTable } {
  if (!Array.isArray(disk.series)) {
    throw new InputError(`version ${disk.version} checkpoint: series is not a list`, { where });
  }
  const rangeTable = new RangeTable();
  const series: SeriesEntry[] = disk.series.map((s, i) => {
    const labels: [string, string][] = [];
    for (let i = 0; i + 1 < s.labels.length; i += 2) {
      labels.push(pair(s.labels[i], s.labels[i + 1]));
    }
    const entry = new SeriesEntry(seriesId(pairsKey(labels)), labels, rangeTable);
    for (const r of s.ranges) {
      const f = files[r.file];
      if (!f) throw new InputError(`range refers to missing file ${r.file}`, { where });
      // The parsed range becomes a row of the table (its file index replaced by the name).
      (r as unknown as RangeEntry).file = f.file;
      try {
        entry.addRange(r as unknown as RangeEntry);
      } catch (err) {
        throw new InputError(`series ${i}: ${(err as Error).message}`, { where });
      }
    }
    return entry;
  });
  return { series, rangeTable };
}

/** Reads the index of a store directory, or `undefined` when it has none yet. */
export async function readIndex(dir: string): Promise<StoreIndex | undefined> {
  const path = `${dir}/${INDEX_FILE}`;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  return decodeIndex(bytes, path);
}

/** Replaces the index of a store directory atomically and durably. Returns its size in bytes. */
export async function writeIndex(dir: string, index: StoreIndex): Promise<number> {
  const bytes = await encodeIndexAsync(index);
  await writeFileDurable(`${dir}/${INDEX_FILE}`, bytes);
  return bytes.length;
}
