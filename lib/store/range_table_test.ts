import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import type { RangeEntry } from "./index_file.ts";
import { RangeTable } from "./range_table.ts";
import { SeriesEntry } from "./series_entry.ts";

function range(file: string, at: number, extra: Partial<RangeEntry> = {}): RangeEntry {
  return {
    file,
    at,
    count: 3,
    minTs: 1_700_000_000_000 + at,
    maxTs: 1_700_000_000_010 + at,
    stepMs: 5,
    mode: "dec",
    scale: 2,
    ...extra,
  };
}

Deno.test("range table: rows give back the ranges added, extras included; bad fields are refused", () => {
  const table = new RangeTable();
  const ranges = [
    range("a.flac", 0),
    range("b.flac", 7, { mode: "f64", scale: 0, stepMs: -3.5 }),
    range("a.flac", 9, { exceptions: [[1, "7ff8000000000001"]], seek: [1_700_000_000_512] }),
  ];
  // More rows than the first capacity: the columns grow.
  for (let i = 0; i < 1000; i++) strictEqual(table.add(ranges[i % 3]), i);
  for (let i = 0; i < 1000; i++) deepStrictEqual(table.entry(i), ranges[i % 3]);
  deepStrictEqual([table.file(1), table.at(1), table.count(1)], ["b.flac", 7, 3]);
  deepStrictEqual([table.minTs(2), table.maxTs(2)], [1_700_000_000_009, 1_700_000_000_019]);
  const copy = new RangeTable();
  strictEqual(copy.copyRow(table, 2), 0);
  deepStrictEqual(copy.entry(0), ranges[2]);
  throws(() => table.add(range("a.flac", -1)), /range position -1/);
  throws(() => table.add(range("a.flac", 0, { count: 2 ** 32 })), /range count/);
  throws(() => table.add(range("a.flac", 0, { mode: "f32" as "dec" })), /unknown value mode/);
  throws(() => table.add(range("a.flac", 0, { scale: 400 })), /value scale 400/);
  strictEqual(table.rows, 1000);
  // Past the first chunk (65,536 rows) and into a third; reserve in between.
  const big = new RangeTable();
  big.reserve(5000);
  for (let i = 0; i < 140_000; i++) big.add(range(`f${i % 7}.flac`, i));
  for (const i of [0, 4999, 5000, 65535, 65536, 131071, 131072, 139_999]) {
    deepStrictEqual(big.entry(i), range(`f${i % 7}.flac`, i));
  }
  strictEqual(big.bytes, 3 * 65536 * 38);
});

Deno.test("series entry: ranges grow at the end; a replaced or filtered copy leaves the original as it was", () => {
  const table = new RangeTable();
  const s = new SeriesEntry("id", [["__name__", "m"]], table);
  strictEqual(s.rangeCount, 0);
  deepStrictEqual(s.totals(), { count: 0, minTs: Infinity, maxTs: -Infinity });
  const ranges = Array.from({ length: 12 }, (_, i) => range(`f${i}.flac`, i));
  for (const r of ranges) s.addRange(r);
  deepStrictEqual(s.ranges(), ranges);
  deepStrictEqual(s.ranges(0, 2), ranges.slice(0, 2));
  deepStrictEqual(s.ranges(10), ranges.slice(10));
  deepStrictEqual(s.range(11), ranges[11]);
  throws(() => s.range(12), /no range 12/);
  deepStrictEqual(s.totals(), {
    count: 36,
    minTs: ranges[0].minTs,
    maxTs: ranges[11].maxTs,
  });
  const merged = range("m.flac", 0, { count: 9 });
  const replaced = s.replaced(1, 3, [merged]);
  deepStrictEqual(replaced.ranges(), [ranges[0], merged, ...ranges.slice(4)]);
  strictEqual(s.rangeCount, 12);
  strictEqual(table.deadRows, 3);
  throws(() => s.replaced(10, 3, []), /no ranges 10…12/);
  const odd = s.filtered((_, k) => k % 2 === 1);
  deepStrictEqual(odd.ranges(), ranges.filter((_, k) => k % 2 === 1));
  strictEqual(s.filtered(() => true), s);
  strictEqual(table.deadRows, 9);
  // Moved to a table of its own: the same ranges, and later ones go there too.
  const fresh = new RangeTable();
  replaced.moveTo(fresh);
  replaced.addRange(ranges[0]);
  deepStrictEqual(replaced.ranges(), [ranges[0], merged, ...ranges.slice(4), ranges[0]]);
  strictEqual(fresh.rows, 11);
});
