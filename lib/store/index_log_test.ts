import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { emptyIndex } from "./index_file.ts";
import {
  applyLogRecord,
  decodeLogRecords,
  encodeLogRecord,
  indexMaps,
  type LogRecord,
} from "./index_log.ts";

const FILE = {
  file: "a.flac",
  bytes: 10,
  count: 2,
  channels: 2,
  bps: 16,
  blockSize: 512,
  frames: [4],
};
const RANGE = {
  file: "a.flac",
  at: 0,
  count: 1,
  minTs: 5,
  maxTs: 5,
  stepMs: 0,
  mode: "dec" as const,
  scale: 0,
};

function record(
  g: number,
  series: [string, string][][],
  ranges: [number, typeof RANGE][],
): LogRecord {
  return { g, files: g === 1 ? [FILE] : [], series, ranges, metadata: [] };
}

Deno.test("index log: records round-trip; a torn or corrupt tail ends the log", async () => {
  const r1 = record(1, [[["__name__", "m"]]], [[0, RANGE]]);
  const r2 = record(2, [], [[0, { ...RANGE, at: 1, minTs: 6, maxTs: 6 }]]);
  const a = await encodeLogRecord(r1);
  const b = await encodeLogRecord(r2);
  const log = new Uint8Array(a.length + b.length);
  log.set(a);
  log.set(b, a.length);
  deepStrictEqual(decodeLogRecords(log, "t"), { records: [r1, r2], validBytes: log.length });
  // Cut inside the second record: only the first counts.
  strictEqual(decodeLogRecords(log.subarray(0, log.length - 3), "t").validBytes, a.length);
  // A flipped byte in the second record's payload fails its CRC.
  const bad = log.slice();
  bad[a.length + 12] ^= 0xff;
  deepStrictEqual(decodeLogRecords(bad, "t").records, [r1]);
});

Deno.test("index log: records apply in order; a generation gap or a missing file is refused", () => {
  const index = emptyIndex();
  const maps = indexMaps(index);
  applyLogRecord(index, maps, record(1, [[["__name__", "m"]]], [[0, RANGE]]), "t");
  strictEqual(index.generation, 1);
  strictEqual(index.series[0].rangeCount, 1);
  strictEqual(maps.ordinals.get(index.series[0].id), 0);
  throws(() => applyLogRecord(index, maps, record(3, [], []), "t"), /does not follow generation 1/);
  throws(
    () => applyLogRecord(index, maps, record(2, [], [[0, { ...RANGE, file: "b.flac" }]]), "t"),
    /missing file b.flac/,
  );
});

Deno.test("index log: once compaction left more dead rows than live ones, the series move to a new table", () => {
  const index = emptyIndex();
  const maps = indexMaps(index);
  const n = 40_000;
  const labels = Array.from({ length: n }, (_, i) => [["__name__", `m${i}`]] as [string, string][]);
  const two = (i: number): [number, typeof RANGE][] => [[i, RANGE], [i, { ...RANGE, at: 1 }]];
  applyLogRecord(index, maps, record(1, labels, labels.flatMap((_, i) => two(i))), "t");
  const first = index.rangeTable;
  strictEqual(first.rows, 2 * n);
  const merged = { ...RANGE, count: 2 };
  applyLogRecord(index, maps, {
    ...record(2, [], []),
    replace: labels.map((_, i): [number, number, number, (typeof RANGE)[]] => [i, 0, 2, [merged]]),
  }, "t");
  // 80,000 dead rows, 40,000 live: a table of the live ones only.
  strictEqual(first.deadRows, 2 * n);
  const table = index.rangeTable;
  strictEqual(table === first, false);
  strictEqual(table.rows, n);
  deepStrictEqual(index.series[n - 1].ranges(), [merged]);
  deepStrictEqual(maps.fileRanges.get("a.flac"), n);
});

Deno.test("index log: a compaction record replaces ranges and retires files; one that does not fit is refused", () => {
  const index = emptyIndex();
  const maps = indexMaps(index);
  applyLogRecord(
    index,
    maps,
    record(1, [[["__name__", "m"]]], [[0, RANGE], [0, { ...RANGE, at: 1, minTs: 6, maxTs: 6 }]]),
    "t",
  );
  strictEqual(maps.fileRanges.get("a.flac"), 2);
  const before = index.series[0];
  const merged = { ...RANGE, file: "b.flac", count: 2, maxTs: 6 };
  applyLogRecord(index, maps, {
    g: 2,
    files: [{ ...FILE, file: "b.flac" }],
    series: [],
    ranges: [],
    metadata: [],
    replace: [[0, 0, 2, [merged]]],
    retire: ["a.flac"],
  }, "t");
  deepStrictEqual(index.series[0].ranges(), [merged]);
  strictEqual(before.rangeCount, 2); // a read in progress keeps what it had
  deepStrictEqual(index.files.map((f) => f.file), ["b.flac"]);
  deepStrictEqual(index.retired, ["a.flac"]);
  deepStrictEqual([maps.fileRanges.get("b.flac"), maps.files.has("a.flac")], [1, false]);
  throws(
    () =>
      applyLogRecord(index, maps, {
        g: 3,
        files: [],
        series: [],
        ranges: [],
        metadata: [],
        replace: [[0, 0, 2, [merged]]],
      }, "t"),
    /replaces ranges 0…1 of series 0, which it does not have/,
  );
});
