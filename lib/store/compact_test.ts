import { deepStrictEqual as assertEquals } from "node:assert";
import { asObjectCheckpoint } from "../../tests/support/old_checkpoint.ts";
import { compactionDebt, compactionDue, planCompaction } from "./compact.ts";
import { emptyIndex, type RangeEntry, SeriesEntry, type StoreIndex } from "./index_file.ts";

function indexOf(counts: number[][]): StoreIndex {
  const index = emptyIndex();
  counts.forEach((list, s) => {
    index.series.push(SeriesEntry.withRanges(
      `s${s}`,
      [["__name__", `m${s}`]],
      index.rangeTable,
      list.map((count, i): RangeEntry => ({
        file: `f${i}`,
        at: 0,
        count,
        minTs: i,
        maxTs: i,
        stepMs: 0,
        mode: "dec",
        scale: 0,
      })),
    ));
  });
  return index;
}

Deno.test("planCompaction: binary-counter runs at the end, big ranges are barriers", () => {
  const plan = planCompaction(
    indexOf([
      [5, 5, 5, 5], // all four: 5 ≤ 5, 5 ≤ 10, 5 ≤ 15
      [80, 5, 5], // 80 > 10: only the two fives
      [80, 40, 20, 10, 5, 5], // 5 ≤ 5, 10 ≤ 10, 20 ≤ 20, 40 ≤ 40, 80 ≤ 80: all
      [100, 5], // one small range after a bigger one: nothing
      [20000, 5, 5], // 20000 ≥ target: a barrier
      [7], // a single range: nothing
    ]),
    16384,
  );
  assertEquals(
    plan.items.map((it) => [it.seriesId, it.from, it.ranges.length, it.samples]),
    [["s0", 0, 4, 20], ["s1", 1, 2, 10], ["s2", 0, 6, 160], ["s4", 1, 2, 10]],
  );
  assertEquals(plan.debt, 3 + 1 + 5 + 1);
  const greedy = planCompaction(indexOf([[100, 5], [80, 5, 5], [20000, 3]]), 16384, true);
  assertEquals(greedy.items.map((it) => [it.seriesId, it.from, it.samples]), [
    ["s0", 0, 105],
    ["s1", 0, 90],
  ]);
});

Deno.test("compactionDue: enough debt and long enough runs", () => {
  const many = indexOf(Array.from({ length: 20 }, () => Array(9).fill(5)));
  assertEquals(compactionDue(planCompaction(many, 16384)), true); // debt 160, runs of 9
  const short = indexOf(Array.from({ length: 100 }, () => [5, 5]));
  assertEquals(compactionDue(planCompaction(short, 16384)), false); // debt 100, runs of 2
  const few = indexOf([Array(30).fill(5)]);
  assertEquals(compactionDue(planCompaction(few, 16384)), false); // debt 29 < 64
  assertEquals(compactionDue(planCompaction(few, 16384), { minDebt: 10 }), true);
  // The debt alone (no plan made) decides the same.
  for (const index of [many, short, few]) {
    const plan = planCompaction(index, 16384);
    assertEquals(compactionDebt(index.series, 16384), { runs: plan.runs, debt: plan.debt });
  }
});

Deno.test("planCompaction: maxSamples ends the plan where runCompaction would stop", () => {
  const index = indexOf([[5, 5], [100, 100], [7, 7, 7], [1, 1]]);
  const ends = (maxSamples: number) =>
    planCompaction(index, 16384, true, index.series, maxSamples).items.map((it) => it.seriesId);
  assertEquals(ends(Infinity), ["s0", "s1", "s2", "s3"]);
  assertEquals(ends(1), ["s0"]); // at least one
  assertEquals(ends(210), ["s0", "s1"]);
  assertEquals(ends(231), ["s0", "s1", "s2"]);
});

Deno.test("planCompaction: never merges ranges a gap over MAX_GAP_MS separates", () => {
  const index = emptyIndex();
  const range = (file: string, minTs: number, maxTs: number): RangeEntry => ({
    file,
    at: 0,
    count: 1,
    minTs,
    maxTs,
    stepMs: 0,
    mode: "dec",
    scale: 0,
  });
  const gap = 2 ** 30 + 1;
  // Two ranges 3e9 ms apart: nothing to merge.
  index.series.push(
    SeriesEntry.withRanges("a", [["__name__", "a"]], index.rangeTable, [
      range("f0", 0, 0),
      range("f1", 3e9, 3e9),
    ]),
  );
  // Close newest two, then a far older one: only the newest two.
  index.series.push(
    SeriesEntry.withRanges("b", [["__name__", "b"]], index.rangeTable, [
      range("f0", 0, 0),
      range("f1", gap, gap),
      range("f2", gap + 10, gap + 20),
    ]),
  );
  for (const greedy of [false, true]) {
    const plan = planCompaction(index, 16384, greedy);
    assertEquals(plan.items.map((it) => [it.seriesId, it.from, it.ranges.length]), [["b", 1, 2]]);
  }
});

Deno.test("compaction is one journal record; a store whose checkpoint is older is checkpointed as version 5 first", async () => {
  const { Store } = await import("./mod.ts");
  const { gunzipSync, gzipSync } = await import("node:zlib");
  const { INDEX_LOG_FILE, decodeLogRecords } = await import("./index_log.ts");
  const dir = await Deno.makeTempDir({ prefix: "wattwave-compact-" });
  try {
    const labels: [string, string][][] = [[["__name__", "a"]], [["__name__", "b"], ["i", "0"]]];
    let store = await Store.open(dir, { autoCompact: false });
    for (let c = 0; c < 8; c++) {
      for (const [i, l] of labels.entries()) {
        await store.append(l, [1000 * c, 1000 * c + 500], new Float64Array([c, i]));
      }
      await store.commit();
    }
    await store.close();
    // The checkpoint as a wattwave before compaction records wrote it.
    const indexPath = `${dir}/index.json.gz`;
    const disk = JSON.parse(new TextDecoder().decode(gunzipSync(await Deno.readFile(indexPath))));
    const old = asObjectCheckpoint(disk, 2);
    await Deno.writeFile(indexPath, gzipSync(new TextEncoder().encode(JSON.stringify(old))));
    store = await Store.open(dir, { autoCompact: false });
    const result = await store.compact();
    assertEquals([result.series, result.rangesIn, result.rangesOut], [2, 16, 2]);
    const after = JSON.parse(new TextDecoder().decode(gunzipSync(await Deno.readFile(indexPath))));
    assertEquals(after.version, 5);
    const { records } = decodeLogRecords(await Deno.readFile(`${dir}/${INDEX_LOG_FILE}`), "log");
    assertEquals(
      records.map((r) => [r.replace?.length ?? 0, r.retire?.length ?? 0, !!r.clearRetired]),
      [
        [2, 8, false],
        [0, 0, true],
      ],
    );
    const back = await Store.open(dir, { readOnly: true });
    for (const s of back.series()) {
      assertEquals(s.segments, 1);
      assertEquals(s.count, 16);
    }
    assertEquals(back.stats().segments, 1);
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
