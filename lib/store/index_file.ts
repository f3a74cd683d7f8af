/**
 * The store index: FLAC files, series labels → sample ranges in those files, and metric
 * metadata, as gzip-compressed JSON in `DIR/index.json.gz`, replaced atomically on every commit
 * (see `atomic_file.ts`). Read it by hand with `zcat DIR/index.json.gz | jq .` (the README has a
 * jq program that resolves the string and file references).
 *
 * On disk, label names and values are indexes into one `strings` table (a series list repeats
 * the same few strings thousands of times; gzip's 32 KiB window would not see most repeats), and
 * a range names its file by index into `files`. In memory ({@linkcode StoreIndex}) both are
 * resolved: labels are string pairs and a range holds its file name.
 *
 * @module
 */
import { gunzipSync, gzip, type ZlibOptions } from "node:zlib";
import { promisify } from "node:util";
import { InputError } from "../errors.ts";
import { sha256HexPrefix } from "../sha256.ts";
import type { ValueMode } from "./value_map.ts";
import { writeFileDurable } from "./atomic_file.ts";

/** File name of the index inside a store directory. */
export const INDEX_FILE = "index.json.gz";
/** Value of `format` in every index. */
export const INDEX_FORMAT = "wattwave-store";
/** Version of the index layout this code writes (3 when it names side files, else 2) and reads. */
export const INDEX_VERSION = 2;
/** Version of an index that names side files (older wattwave refuses it rather than miss them). */
export const INDEX_VERSION_SIDES = 3;

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

/** One series: its labels (with `__name__`, sorted by name) and its ranges in commit order. */
export interface SeriesEntry {
  /** Stable id: 16 hex digits of the SHA-256 of the series key (not stored: recomputed). */
  id: string;
  /** Label pairs including `__name__`, sorted by label name. */
  labels: [string, string][];
  /** Ranges in the order they were committed (ties in time resolve in this order). */
  ranges: RangeEntry[];
}

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
  /** Metadata per metric name (last one committed wins). */
  metadata: MetadataEntry[];
  /** Files no longer referenced (replaced by compaction), to delete; dropped once deleted. */
  retired: string[];
  /** Side files, in commit order. */
  sides: SideFileEntry[];
}

/** An empty index. */
export function emptyIndex(): StoreIndex {
  return { generation: 0, files: [], series: [], metadata: [], retired: [], sides: [] };
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
  series: { labels: number[]; ranges: DiskRange[] }[];
  metadata: MetadataEntry[];
  retired: string[];
  sides?: (Omit<SideFileEntry, "series"> & { series: number[][] })[];
}

const gzipAsync = promisify(gzip) as (
  bytes: Uint8Array,
  options: ZlibOptions,
) => Promise<Uint8Array>;

/** Serialises an index (gzip of compact JSON, strings and files referenced by index), compressed off the main thread. */
export function encodeIndexAsync(index: StoreIndex): Promise<Uint8Array> {
  return gzipAsync(new TextEncoder().encode(indexJson(index)), { level: 9 });
}

function indexJson(index: StoreIndex): string {
  const strings: string[] = [];
  const stringIds = new Map<string, number>();
  const sid = (s: string): number => {
    let i = stringIds.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      stringIds.set(s, i);
    }
    return i;
  };
  const fileIds = new Map<string, number>();
  index.files.forEach((f, i) => fileIds.set(f.file, i));
  const disk: DiskIndex = {
    format: INDEX_FORMAT,
    version: index.sides.length ? INDEX_VERSION_SIDES : INDEX_VERSION,
    generation: index.generation,
    strings,
    files: index.files,
    series: index.series.map((s) => ({
      labels: s.labels.flatMap(([n, v]) => [sid(n), sid(v)]),
      ranges: s.ranges.map((r) => {
        const file = fileIds.get(r.file);
        if (file === undefined) throw new Error(`index: range refers to unknown file ${r.file}`);
        return { ...r, file };
      }),
    })),
    metadata: index.metadata,
    retired: index.retired,
  };
  if (index.sides.length) {
    disk.sides = index.sides.map((f) => ({
      ...f,
      series: f.series.map((labels) => labels.flatMap(([n, v]) => [sid(n), sid(v)])),
    }));
  }
  return JSON.stringify(disk);
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
  if (disk?.format !== INDEX_FORMAT || !Array.isArray(disk.series)) {
    throw new InputError(
      `not a wattwave store index (format ${JSON.stringify(disk?.format)})`,
      { where },
    );
  }
  if (disk.version !== INDEX_VERSION && disk.version !== INDEX_VERSION_SIDES) {
    throw new InputError(
      `unsupported store index version ${disk.version} (this wattwave reads ${INDEX_VERSION} and ${INDEX_VERSION_SIDES}; ` +
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
  const series: SeriesEntry[] = disk.series.map((s) => {
    const labels: [string, string][] = [];
    for (let i = 0; i + 1 < s.labels.length; i += 2) {
      labels.push([str(s.labels[i]), str(s.labels[i + 1])]);
    }
    const ranges = s.ranges.map((r): RangeEntry => {
      const f = files[r.file];
      if (!f) throw new InputError(`range refers to missing file ${r.file}`, { where });
      return { ...r, file: f.file };
    });
    return { id: seriesId(pairsKey(labels)), labels, ranges };
  });
  const pairs = (ids: number[]): [string, string][] => {
    const labels: [string, string][] = [];
    for (let i = 0; i + 1 < ids.length; i += 2) labels.push([str(ids[i]), str(ids[i + 1])]);
    return labels;
  };
  return {
    generation: disk.generation,
    files,
    series,
    metadata: disk.metadata ?? [],
    retired: disk.retired ?? [],
    sides: (disk.sides ?? []).map((f) => ({ ...f, series: f.series.map(pairs) })),
  };
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
