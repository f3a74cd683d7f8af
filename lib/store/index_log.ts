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
import { gunzipSync } from "node:zlib";
import { crc32c } from "../remote/codec/crc32c.ts";
import { InputError } from "../errors.ts";
import { EventLoopPacer } from "../sleep.ts";
import { JsonPieces } from "./json_pieces.ts";
import { SeriesIdTable } from "./id_table.ts";
import { RangeTable } from "./range_table.ts";
import {
  type FileEntry,
  type MetadataEntry,
  pairsKey,
  type RangeEntry,
  SeriesEntry,
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
  /**
   * Ranges added: `[series ordinal in the index, range]` (new series take the next ordinals).
   * In memory, a commit's are {@linkcode RangeRows} (written the same).
   */
  ranges: [number, RangeEntry][] | RangeRows;
  /** Metadata set (replacing the entry of the same name). */
  metadata: MetadataEntry[];
  /** Whether the retired files were deleted (the index's list is emptied). */
  clearRetired?: boolean;
  /** Side files the commit added (histograms, exemplars, start timestamps). */
  sides?: SideFileEntry[];
  /**
   * Compaction (index version 4): `[series ordinal, at, removed, ranges]` replaces `removed`
   * ranges of the series from position `at` on by `ranges` (in the files `files` adds).
   */
  replace?: [number, number, number, RangeEntry[]][];
  /** Files no range names any more: dropped from `files`, listed as retired (to delete). */
  retire?: string[];
}

/** A commit's ranges in a record: range `i` is row `i` of `table`, of series `ordinals[i]`. */
export interface RangeRows {
  /** Series ordinal in the index of each range. */
  ordinals: Int32Array;
  /** The ranges (row `i`: range `i`). */
  table: RangeTable;
}

/**
 * The gzip of `JSON.stringify(record)`, made a slice at a time and compressed as it is made (a
 * commit of a million series is a record of hundreds of MB: neither one string nor one buffer
 * of it is made, and only zlib's buffer of it is held).
 */
async function recordGzip(record: LogRecord): Promise<Uint8Array> {
  const out = new JsonPieces({ gzipLevel: 1 });
  out.raw(`{"g":${record.g}`);
  out.raw(`,"files":`);
  await out.array(record.files);
  out.raw(`,"series":`);
  await out.array(record.series);
  out.raw(`,"ranges":`);
  const ranges = record.ranges;
  if (Array.isArray(ranges)) {
    await out.array(ranges);
  } else {
    await out.sequence(ranges.ordinals.length, (i) => [ranges.ordinals[i], ranges.table.entry(i)]);
  }
  out.raw(`,"metadata":`);
  await out.array(record.metadata);
  if (record.clearRetired) out.raw(`,"clearRetired":true`);
  if (record.replace?.length) {
    out.raw(`,"replace":`);
    await out.array(record.replace);
  }
  if (record.retire?.length) {
    out.raw(`,"retire":`);
    await out.array(record.retire);
  }
  if (record.sides?.length) {
    out.raw(`,"sides":`);
    await out.array(record.sides);
  }
  out.raw("}");
  return await out.finishGzip();
}

/** Encodes one record with its header (compressed off the main thread). */
export async function encodeLogRecord(record: LogRecord): Promise<Uint8Array> {
  const payload = await recordGzip(record);
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

/** Lookups an index needs to apply records: series ordinals by id, files by name. */
export interface IndexMaps {
  /** Position of each series (by id) in the index's series (see `id_table.ts`). */
  ordinals: SeriesIdTable;
  /** Segment files by name. */
  files: Map<string, FileEntry>;
  /** Side files by name. */
  sideFiles: Map<string, SideFileEntry>;
  /** Side files naming each series (by id), in commit order. */
  sidesOf: Map<string, SideFileEntry[]>;
  /** Ranges naming each segment file (a compaction retires a file when its count drops to 0). */
  fileRanges: Map<string, number>;
}

/** Adds `delta` to the ranges counted for `file`. */
function countRanges(maps: IndexMaps, file: string, delta: number): void {
  maps.fileRanges.set(file, (maps.fileRanges.get(file) ?? 0) + delta);
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

/**
 * The {@linkcode IndexMaps} of an index (a walk over all of it: on load only). `kept`, when
 * given, supplies the series lookups: the caller knows the series are the same, at the same
 * positions, with the same ranges.
 */
export function indexMaps(
  index: StoreIndex,
  kept?: Pick<IndexMaps, "ordinals" | "fileRanges">,
): IndexMaps {
  const maps: IndexMaps = {
    ordinals: kept?.ordinals ?? new SeriesIdTable(),
    files: new Map(),
    sideFiles: new Map(),
    sidesOf: new Map(),
    fileRanges: kept?.fileRanges ?? new Map(),
  };
  if (!kept) {
    maps.ordinals.reserve(index.series.length);
    index.series.forEach((s, i) => {
      maps.ordinals.set(s.id, i);
      const n = s.rangeCount;
      for (let k = 0; k < n; k++) countRanges(maps, s.rangeFile(k), 1);
    });
  }
  for (const f of index.files) maps.files.set(f.file, f);
  for (const f of index.sides) mapSide(maps, f);
  return maps;
}

/**
 * {@linkcode applyLogRecord}, pausing for the event loop now and then: a commit of a million
 * series is a million entries to apply, seconds of work a server must not stall for.
 */
export async function applyLogRecordPaced(
  index: StoreIndex,
  maps: IndexMaps,
  record: LogRecord,
  where: string,
  seriesIds?: string[],
): Promise<void> {
  const pacer = new EventLoopPacer();
  for (const _ of applySteps(index, maps, record, where, seriesIds)) {
    const pause = pacer.tick();
    if (pause) await pause;
  }
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
  for (const _ of applySteps(index, maps, record, where, seriesIds)) { /* run to the end */ }
}

/** The work of applying a record, yielding after each series and range (a place to pause). */
function* applySteps(
  index: StoreIndex,
  maps: IndexMaps,
  record: LogRecord,
  where: string,
  seriesIds: string[] | undefined,
): Generator<void> {
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
    yield;
    const labels = record.series[i];
    const id = seriesIds?.[i] ?? seriesId(pairsKey(labels));
    maps.ordinals.set(id, index.series.length);
    index.series.push(new SeriesEntry(id, labels, index.rangeTable));
  }
  // A record read from the journal lists `[ordinal, range]` pairs; a commit's own, rows.
  const pairs = Array.isArray(record.ranges) ? record.ranges : undefined;
  const rows = Array.isArray(record.ranges) ? undefined : record.ranges;
  const rangeCount = pairs ? pairs.length : rows!.ordinals.length;
  index.rangeTable.reserve(rangeCount);
  for (let i = 0; i < rangeCount; i++) {
    yield;
    const ordinal = rows ? rows.ordinals[i] : pairs![i][0];
    const file = rows ? rows.table.file(i) : pairs![i][1].file;
    const s = index.series[ordinal];
    if (!s) throw new InputError(`index log range refers to missing series ${ordinal}`, { where });
    if (!maps.files.has(file)) {
      throw new InputError(`index log range refers to missing file ${file}`, { where });
    }
    try {
      if (rows) s.addRangeFrom(rows.table, i);
      else s.addRange(pairs![i][1]);
    } catch (err) {
      throw new InputError(`index log range of series ${ordinal}: ${(err as Error).message}`, {
        where,
      });
    }
    countRanges(maps, file, 1);
  }
  for (const [ordinal, at, removed, ranges] of record.replace ?? []) {
    yield;
    const s = index.series[ordinal];
    if (!s || at < 0 || removed < 0 || at + removed > s.rangeCount) {
      throw new InputError(
        `index log replaces ranges ${at}…${
          at + removed - 1
        } of series ${ordinal}, which it does not have`,
        { where },
      );
    }
    for (const r of ranges) {
      if (!maps.files.has(r.file)) {
        throw new InputError(`index log range refers to missing file ${r.file}`, { where });
      }
    }
    // A changed copy of the series: a checkpoint being written keeps the ranges it counted.
    let next: SeriesEntry;
    try {
      next = s.replaced(at, removed, ranges);
    } catch (err) {
      throw new InputError(`index log range of series ${ordinal}: ${(err as Error).message}`, {
        where,
      });
    }
    for (let k = at; k < at + removed; k++) countRanges(maps, s.rangeFile(k), -1);
    for (const r of ranges) countRanges(maps, r.file, 1);
    index.series[ordinal] = next;
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
  if (record.retire?.length) {
    const gone = new Set(record.retire);
    index.files = index.files.filter((f) => !gone.has(f.file));
    for (const name of gone) {
      maps.files.delete(name);
      maps.fileRanges.delete(name);
    }
    index.retired = [...index.retired, ...gone];
  }
  index.generation = record.g;
  // Compaction left more dead rows than live ones: the series move to a table of their own,
  // one at a time (each is whole in one table or the other).
  if (index.rangeTable.sparse) {
    const table = new RangeTable();
    for (const s of index.series) {
      yield;
      s.moveTo(table);
    }
    index.rangeTable = table;
  }
}
