/**
 * The store index's journal, `DIR/index.log`: one record per commit, appended and fsynced, so
 * that a commit costs what it changes and not the size of the store. The checkpoint
 * (`index.json.gz`, generation G) plus the records of generations G+1, G+2, … in the log is the
 * committed index. When the log outgrows the checkpoint, the writer writes a new checkpoint
 * (atomically) and empties the log; a crash between the two leaves records of generations the
 * checkpoint already holds, which replay skips.
 *
 * A record on disk:
 *
 * | bytes | field |
 * | --- | --- |
 * | 4 | payload length, little-endian |
 * | 4 | CRC-32C of the payload, little-endian |
 * | n | payload: gzip of the record's JSON ({@linkcode LogRecord}) |
 *
 * A record cut short or failing its CRC ends the log (a commit that died while appending: it was
 * never acknowledged); the next writer truncates it away before appending.
 *
 * @module
 */
import { gunzipSync, gzip, type ZlibOptions } from "node:zlib";
import { promisify } from "node:util";
import { crc32c } from "../remote/codec/crc32c.ts";
import { InputError } from "../errors.ts";
import { EventLoopPacer } from "../sleep.ts";
import {
  type FileEntry,
  type MetadataEntry,
  pairsKey,
  type RangeEntry,
  type SeriesEntry,
  seriesId,
  type SideFileEntry,
  type StoreIndex,
} from "./index_file.ts";

/** File name of the journal inside a store directory. */
export const INDEX_LOG_FILE = "index.log";

/** Bytes before each record's payload: length and CRC. */
const RECORD_HEADER_BYTES = 8;

/** What one commit changed (see the module doc). */
export interface LogRecord {
  /** The generation this record makes (the previous one + 1). */
  g: number;
  /** Segment files the commit added. */
  files: FileEntry[];
  /** Series first committed here, appended to the index's series in this order. */
  series: [string, string][][];
  /** Ranges added: `[series ordinal in the index, range]` (new series take the next ordinals). */
  ranges: [number, RangeEntry][];
  /** Metadata set (replacing the entry of the same name). */
  metadata: MetadataEntry[];
  /** Whether the retired files were deleted (the index's list is emptied). */
  clearRetired?: boolean;
  /** Side files the commit added (histograms, exemplars, start timestamps). */
  sides?: SideFileEntry[];
}

/** JSON of an array, a slice at a time, pausing for the event loop between slices when due. */
async function arrayJson(items: unknown[], pacer: EventLoopPacer): Promise<string> {
  const parts: string[] = [];
  for (let i = 0; i < items.length; i += 1024) {
    parts.push(JSON.stringify(items.slice(i, i + 1024)).slice(1, -1));
    const pause = pacer.tick();
    if (pause) await pause;
  }
  return `[${parts.join(",")}]`;
}

/** `JSON.stringify(record)`, made in slices (a commit of a million series is a large record). */
async function recordJson(record: LogRecord): Promise<string> {
  const pacer = new EventLoopPacer({ checkEvery: 1 });
  let out = `{"g":${record.g}`;
  for (const key of ["files", "series", "ranges", "metadata"] as const) {
    out += `,"${key}":${await arrayJson(record[key], pacer)}`;
  }
  if (record.clearRetired) out += `,"clearRetired":true`;
  if (record.sides?.length) out += `,"sides":${await arrayJson(record.sides, pacer)}`;
  return out + "}";
}

const gzipAsync = promisify(gzip) as (
  bytes: Uint8Array,
  options: ZlibOptions,
) => Promise<Uint8Array>;

/** Encodes one record with its header (compressed off the main thread). */
export async function encodeLogRecord(record: LogRecord): Promise<Uint8Array> {
  const payload = await gzipAsync(new TextEncoder().encode(await recordJson(record)), { level: 1 });
  const out = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length, true); // 4 bytes: payload length
  view.setUint32(4, crc32c(payload), true); // 4 bytes: CRC-32C of the payload
  out.set(payload, RECORD_HEADER_BYTES); // the gzip'd JSON
  return out;
}

/** The records of a log's bytes, and where the last whole one ends (torn bytes after it). */
export function decodeLogRecords(
  bytes: Uint8Array,
  where: string,
): { records: LogRecord[]; validBytes: number } {
  const records: LogRecord[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos + RECORD_HEADER_BYTES <= bytes.length) {
    const length = view.getUint32(pos, true);
    const crc = view.getUint32(pos + 4, true);
    const end = pos + RECORD_HEADER_BYTES + length;
    if (end > bytes.length) break; // cut short: a commit that died while appending
    const payload = bytes.subarray(pos + RECORD_HEADER_BYTES, end);
    if (crc32c(payload) !== crc) break;
    try {
      records.push(JSON.parse(new TextDecoder().decode(gunzipSync(payload))) as LogRecord);
    } catch (err) {
      throw new InputError(
        `index log record at byte ${pos} passes its CRC but does not parse: ${
          (err as Error).message
        }`,
        { where },
      );
    }
    pos = end;
  }
  return { records, validBytes: pos };
}

/** Lookups an index needs to apply records: series by id, their ordinals, files by name. */
export interface IndexMaps {
  /** Series by id. */
  byId: Map<string, SeriesEntry>;
  /** Position of each series (by id) in the index's series. */
  ordinals: Map<string, number>;
  /** Segment files by name. */
  files: Map<string, FileEntry>;
  /** Side files by name. */
  sideFiles: Map<string, SideFileEntry>;
  /** Side files naming each series (by id), in commit order. */
  sidesOf: Map<string, SideFileEntry[]>;
}

/** Adds a side file to `maps`. */
function mapSide(maps: IndexMaps, f: SideFileEntry): void {
  maps.sideFiles.set(f.file, f);
  for (const labels of f.series) {
    const id = seriesId(pairsKey(labels));
    const list = maps.sidesOf.get(id);
    if (list) list.push(f);
    else maps.sidesOf.set(id, [f]);
  }
}

/** The {@linkcode IndexMaps} of an index (a walk over all of it: on load only). */
export function indexMaps(index: StoreIndex): IndexMaps {
  const maps: IndexMaps = {
    byId: new Map(),
    ordinals: new Map(),
    files: new Map(),
    sideFiles: new Map(),
    sidesOf: new Map(),
  };
  index.series.forEach((s, i) => {
    maps.byId.set(s.id, s);
    maps.ordinals.set(s.id, i);
  });
  for (const f of index.files) maps.files.set(f.file, f);
  for (const f of index.sides) mapSide(maps, f);
  return maps;
}

/**
 * Applies a record to `index` (and `maps`) in place; `seriesIds`, when the caller knows them,
 * are the ids of the record's new series (else computed from their labels). Throws {@linkcode InputError} naming
 * `where` when it does not follow the index (a generation gap or a bad reference).
 */
export function applyLogRecord(
  index: StoreIndex,
  maps: IndexMaps,
  record: LogRecord,
  where: string,
  seriesIds?: string[],
): void {
  if (record.g !== index.generation + 1) {
    throw new InputError(
      `index log record of generation ${record.g} does not follow generation ${index.generation}`,
      { where },
    );
  }
  for (const f of record.files) {
    index.files.push(f);
    maps.files.set(f.file, f);
  }
  for (let i = 0; i < record.series.length; i++) {
    const labels = record.series[i];
    const s: SeriesEntry = { id: seriesIds?.[i] ?? seriesId(pairsKey(labels)), labels, ranges: [] };
    maps.ordinals.set(s.id, index.series.length);
    index.series.push(s);
    maps.byId.set(s.id, s);
  }
  for (const [ordinal, range] of record.ranges) {
    const s = index.series[ordinal];
    if (!s) throw new InputError(`index log range refers to missing series ${ordinal}`, { where });
    if (!maps.files.has(range.file)) {
      throw new InputError(`index log range refers to missing file ${range.file}`, { where });
    }
    s.ranges.push(range);
  }
  for (const m of record.metadata) {
    const i = index.metadata.findIndex((x) => x.name === m.name);
    if (i >= 0) index.metadata[i] = m;
    else index.metadata.push(m);
  }
  for (const f of record.sides ?? []) {
    index.sides.push(f);
    mapSide(maps, f);
  }
  if (record.clearRetired) index.retired = [];
  index.generation = record.g;
}
