/**
 * The store index: series labels → segments, as gzip-compressed JSON in `DIR/index.json.gz`,
 * replaced atomically on every commit (see `atomic_file.ts`). Read it by hand with
 * `zcat DIR/index.json.gz | jq .`.
 *
 * @module
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { InputError } from "../errors.ts";
import type { ValueMode } from "./value_map.ts";
import { writeFileDurable } from "./atomic_file.ts";

/** File name of the index inside a store directory. */
export const INDEX_FILE = "index.json.gz";
/** Value of `format` in every index. */
export const INDEX_FORMAT = "wattwave-store";
/** Version of the index layout this code writes and reads. */
export const INDEX_VERSION = 1;

/** A value the FLAC channels do not carry: its index in the segment and its 16 hex digits of bits. */
export type ExceptionEntry = [index: number, bitsHex: string];

/** A seek point: where a FLAC frame starts and the timestamp of its first sample. */
export type FrameEntry = [byteOffset: number, firstSample: number, firstTimestampMs: number];

/** One segment file of a series (everything needed to pick it for a range and decode it). */
export interface SegmentEntry {
  /** File name inside `DIR/segments/`. */
  file: string;
  /** Smallest timestamp in the segment (also its first: samples are sorted). */
  minTs: number;
  /** Largest timestamp (its last). */
  maxTs: number;
  /** Number of samples. */
  count: number;
  /** File size in bytes. */
  bytes: number;
  /** FLAC bits per sample of all channels. */
  bps: number;
  /** FLAC block size (samples per frame, the last frame may be shorter). */
  blockSize: number;
  /** Timestamp channel: `ts[i] - ts[i-1] - stepMs` (0 for the first sample). */
  stepMs: number;
  /** How values map to channels (see `value_map.ts`). */
  mode: ValueMode;
  /** Decimal scale k: values are `n / 10^k` (`dec`, `dec2`). */
  scale: number;
  /** Values no scale captures (only `dec`, `dec2`). Omitted when empty. */
  exceptions?: ExceptionEntry[];
  /** Seek points for each frame after the first (omitted when the segment has one frame). */
  frames?: FrameEntry[];
}

/** One series: its labels (with `__name__`, sorted by name) and its segments in commit order. */
export interface SeriesEntry {
  /** Stable id: 16 hex digits of the SHA-256 of the label set. */
  id: string;
  /** Label pairs including `__name__`, sorted by label name. */
  labels: [string, string][];
  /** Segments in the order they were committed (ties in time resolve in this order). */
  segments: SegmentEntry[];
}

/** The whole index. */
export interface StoreIndex {
  /** Always {@linkcode INDEX_FORMAT}. */
  format: typeof INDEX_FORMAT;
  /** Always {@linkcode INDEX_VERSION}. */
  version: number;
  /** Incremented by every commit. */
  generation: number;
  /** All series. */
  series: SeriesEntry[];
}

/** An empty index. */
export function emptyIndex(): StoreIndex {
  return { format: INDEX_FORMAT, version: INDEX_VERSION, generation: 0, series: [] };
}

/** Serialises an index (gzip of compact JSON). */
export function encodeIndex(index: StoreIndex): Uint8Array {
  return gzipSync(new TextEncoder().encode(JSON.stringify(index)), { level: 9 });
}

/** Parses index bytes; throws {@linkcode InputError} naming `where` when they are not an index. */
export function decodeIndex(bytes: Uint8Array, where: string): StoreIndex {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(gunzipSync(bytes)));
  } catch (err) {
    throw new InputError(`not a wattwave store index: ${(err as Error).message}`, { where });
  }
  const index = parsed as StoreIndex;
  if (index?.format !== INDEX_FORMAT || !Array.isArray(index.series)) {
    throw new InputError(
      `not a wattwave store index (format ${JSON.stringify(index?.format)})`,
      { where },
    );
  }
  if (index.version !== INDEX_VERSION) {
    throw new InputError(
      `unsupported store index version ${index.version} (this wattwave reads ${INDEX_VERSION})`,
      { where },
    );
  }
  return index;
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

/** Replaces the index of a store directory atomically and durably. */
export async function writeIndex(dir: string, index: StoreIndex): Promise<void> {
  await writeFileDurable(`${dir}/${INDEX_FILE}`, encodeIndex(index));
}
